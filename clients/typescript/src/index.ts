export {
  type Attachment,
  createFlowHub,
  FlowHub,
  type FileMeta,
  type FlowHubOptions,
  type LoginAnswer,
  type Message,
  type MfaChallenge,
  type Room,
  type Schemas,
  type TokenPair,
  type User,
} from "./client.js";
export { type ErrorCode, type ErrorDetail, FlowHubError } from "./errors.js";
export type { components, operations, paths } from "./generated/openapi.js";
export {
  type ClientEvent,
  type ClientEvents,
  connectRealtime,
  Realtime,
  type RealtimeOptions,
  type ServerEvent,
  type ServerEvents,
} from "./realtime.js";
export { localStorageStore, memoryStore, type Session, sessionOf, type TokenStore } from "./store.js";
