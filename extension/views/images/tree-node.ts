/*
 * The shape every node of the Images tree has (the same as the Containers tree's, whose RowNode
 * serves both for leaves made from a model Row). Item ids are stable ("image:<name>/layers/…"),
 * so a refresh keeps what was expanded.
 */
export type { ContainersTreeNode as ImagesTreeNode } from '../containers/tree-node';
