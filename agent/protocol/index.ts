/*
 * The protocol between the extension (or the CLI) and the agent: JSON-RPC 2.0 over one stream.
 * This module is the only one both sides import.
 */
export * from './records';
export * from './oci-spec';
export * from './methods';
export * from './labs';
export * from './images';
export * from './files';
export * from './capabilities';
export * from './annotations';
export * from './published-ports';
export * from './nodes';
export * from './host-containers';
export * from './pods';
