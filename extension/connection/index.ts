/*
 * The connection layer in one import for the views and commands (none of it imports 'vscode').
 */
export * from './types';
export { ReconnectingLabConnection } from './lab-connection';
export type { LabConnectionOptions, LinkVia } from './lab-connection';
export { JsonFileHostKeyStore, HostKeyChangedError, HostKeyRejectedError, pinKey, sha256Fingerprint } from './host-keys';
export type { HostKeyStore } from './host-keys';
export { describeTarget, localTarget, localTargetUsable, parseSshConfig, parseVagrantSshConfig, settingsTarget, sshConfigTargets, vagrantTargets } from './targets';
export type { SshSettings, VagrantOptions } from './targets';
export { DEFAULT_INSTALL_ROOT, NODE_FIX, agentBuildId } from './bootstrap';
export type { BootstrapOptions, RemoteAgent } from './bootstrap';
export type { TransportChoice, AgentTransport } from './agent-stream';
