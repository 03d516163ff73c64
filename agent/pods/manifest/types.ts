/*
 * The Pod's types, from kubernetes-models' typings (type-only: nothing of the package is bundled).
 */
export type { IPod as Pod } from 'kubernetes-models/v1/Pod';
export type { IContainer as Container } from 'kubernetes-models/v1/Container';
export type { IPodSpec as PodSpec } from 'kubernetes-models/v1/PodSpec';
export type { IProbe as Probe } from 'kubernetes-models/v1/Probe';
export type { IVolume as Volume } from 'kubernetes-models/v1/Volume';
export type { ISecurityContext as SecurityContext } from 'kubernetes-models/v1/SecurityContext';
export type { IPodSecurityContext as PodSecurityContext } from 'kubernetes-models/v1/PodSecurityContext';
export type { ILifecycleHandler as LifecycleHandler } from 'kubernetes-models/v1/LifecycleHandler';
