/*
 * The shape every node of the Pods tree has (the same as the Containers tree's, whose RowNode
 * serves for leaves made from a model Row). Item ids are stable ("pod:<name>/container:<name>/…"),
 * so a refresh keeps what was expanded.
 */
export type { ContainersTreeNode as PodsTreeNode } from '../containers/tree-node';
