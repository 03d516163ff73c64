/*
 * The Manifests page. One panel kind per subject, one page bundle: a container's panel shows its
 * config.json beside the Pod that asks for it (./container-page.ts); a pod's panel shows its Pod
 * YAML beside each of its containers' config.json and cgroup paths (./pod-page.ts). The state the
 * panel was opened with says which; only that module is loaded (esbuild bundles both and runs the
 * one imported).
 */
import { readInitialState } from '../../shared/view/vscode-api';
import type { PodManifestsState } from '../messages';

const initial = readInitialState<Partial<PodManifestsState>>();
if (typeof initial?.pod === 'string') void import('./pod-page.js');
else void import('./container-page.js');
