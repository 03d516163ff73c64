/*
 * The command lines of the verbs a lab's solution steps use besides `run` (./run-options.ts):
 * `exec`, `stop`, `rm`, `import`, and the pod verbs `apply` and `delete`, as the CLI reads them — declared once, for the CLI that executes them
 * and the lab engine that replays a learner's lines.
 */
import type { VerbSpec } from './args';

export const EXEC_SPEC: VerbSpec = {
  name: 'exec',
  summary: 'Run a command inside a running container and stream its input and output.',
  usage: 'exec [-t] [-i] [-c CONTAINER] NAME|ID|POD -- CMD [ARGS…]',
  options: [
    { long: 'container', short: 'c', value: 'NAME', help: "in a pod (apply -f): which of its containers (default: the first)" },
    { long: 'tty', short: 't', help: 'give the command a terminal (raw mode here, resizes forwarded)' },
    { long: 'interactive', short: 'i', help: 'forward stdin to the command' },
  ],
  positionals: { name: 'NAME|ID', min: 1, max: 1 },
  command: 'required',
  details: ['Examples:', '  containers-lab exec web -- ps', '  containers-lab exec -it web -- sh'],
};

export const STOP_SPEC: VerbSpec = {
  name: 'stop',
  summary: 'Stop running containers (SIGTERM, then SIGKILL after the grace period).',
  usage: 'stop [-t SECONDS] NAME…',
  options: [{ long: 'time', short: 't', value: 'SECONDS', help: 'grace period before SIGKILL (default: the agent’s, 10)' }],
  positionals: { name: 'NAME', min: 1, max: Infinity },
  command: 'none',
};

export const RM_SPEC: VerbSpec = {
  name: 'rm',
  summary: 'Remove containers and everything they owned (mounts, cgroup, veth, files).',
  usage: 'rm [-f] NAME…',
  options: [{ long: 'force', short: 'f', help: 'stop a running container first (SIGKILL)' }],
  positionals: { name: 'NAME', min: 1, max: Infinity },
  command: 'none',
};

export const APPLY_SPEC: VerbSpec = {
  name: 'apply',
  summary: 'Run the Pod a Pod YAML file describes (kubectl apply -f, on this node).',
  usage: 'apply -f FILE',
  options: [{ long: 'filename', short: 'f', value: 'FILE', help: 'the Pod YAML (- reads stdin)' }],
  positionals: { name: 'nothing', min: 0, max: 0 },
  command: 'none',
  details: ['Example:', '  containers-lab apply -f pod.yaml', '  containers-lab get pods'],
};

export const DELETE_SPEC: VerbSpec = {
  name: 'delete',
  summary: 'Delete a pod: by name (delete pod NAME) or by its YAML (delete -f FILE).',
  usage: 'delete (pod NAME | -f FILE) [--grace-period SECONDS]',
  options: [
    { long: 'filename', short: 'f', value: 'FILE', help: 'the Pod YAML it was applied from' },
    { long: 'grace-period', value: 'SECONDS', help: "time between SIGTERM and SIGKILL (default: the pod's terminationGracePeriodSeconds, 30)" },
  ],
  positionals: { name: 'pod NAME', min: 0, max: 2 },
  command: 'none',
};

export const IMPORT_SPEC: VerbSpec = {
  name: 'import',
  summary: 'Import images from a docker save archive or an OCI image layout (directory or tar).',
  usage: 'import [--json] FILE [NAME]',
  options: [{ long: 'json', help: 'print the imported ImageListEntry objects as JSON' }],
  positionals: { name: 'FILE', min: 1, max: 2 },
  command: 'none',
  details: [
    'Examples:',
    '  containers-lab import app.tar',
    '  containers-lab import ./oci-layout lab/app:1',
  ],
};
