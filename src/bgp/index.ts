/** The BGP-4 wire codec: pure functions between Buffers and typed messages. */
export * from './constants.js';
export * from './errors.js';
export * from './prefix.js';
export * from './communities.js';
export * from './capabilities.js';
export * from './attributes.js';
export * from './open.js';
export * from './update.js';
export * from './notification.js';
export * from './route-refresh.js';
export * from './message.js';
export * from './framer.js';
export * from './update-packer.js';
export { Reader } from './reader.js';
export { Writer } from './writer.js';
export * from './describe.js';
