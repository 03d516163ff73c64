/*
 * config.json annotations of the lab's own: what the OCI runtime spec has no field for, written by
 * the agent into every document it makes (agent/oci/from-run-options.ts) and read back by the
 * runtime and by the views (Manifests, Anatomy), so a document alone says how its container was asked for.
 */
export const ANNOTATIONS = {
  name: 'lab.containers.name',
  image: 'lab.containers.image',
  /** For a pulled or imported image: the digest its name resolved to, and its ID (the config's digest). */
  imageDigest: 'lab.containers.image-digest',
  imageId: 'lab.containers.image-id',
  /** The image config's ExposedPorts (JSON list: "80/tcp"), recorded as Docker records them; -p publishes. */
  exposedPorts: 'lab.containers.exposed-ports',
  network: 'lab.containers.network',
  bridge: 'lab.containers.bridge',
  subnet: 'lab.containers.subnet',
  /** The published ports (JSON list, Docker's -p syntax: "8080:80/tcp", "127.0.0.1:5353:53/udp"). */
  ports: 'lab.containers.ports',
  /** The pod a container belongs to, and whether it is the pod's sandbox (which holds the shared namespaces). */
  pod: 'lab.containers.pod',
  podSandbox: 'lab.containers.pod-sandbox',
  /** The init step's command (JSON) — run to completion before the main process. */
  init: 'lab.containers.init',
  /** Which seccomp profile linux.seccomp is: "default" (the runtime's), "custom" (the user's) or "unconfined" (none). */
  seccomp: 'lab.containers.seccomp',
  /**
   * "own": the container's first process joins a new session keyring, `_ses.<id>` (absent means
   * the same); "host": its processes stay in the caller's (runc's --no-new-keyring). runc takes
   * this as a flag; here the document says it.
   */
  sessionKeyring: 'lab.containers.session-keyring',
  /** "true" for a --privileged container (Kubernetes: securityContext.privileged). */
  privileged: 'lab.containers.privileged',
  /** The --device-cgroup-rule rules (JSON list, Docker's syntax) that linux.resources.devices has after the defaults. */
  deviceCgroupRules: 'lab.containers.device-cgroup-rules',
} as const;
