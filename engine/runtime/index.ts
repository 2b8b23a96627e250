export {
  createSession,
  withSession,
  toOrt,
  fromOrt,
  type ExecutionProvider,
  type SessionOptions,
  type OpenedSession,
  type EngineSession,
  usesOwnKernels,
} from './session.ts';
export { nativeRunner } from './native/runner.ts';
