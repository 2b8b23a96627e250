export {
  createSession,
  toOrt,
  fromOrt,
  type ExecutionProvider,
  type SessionOptions,
  type OpenedSession,
} from './session.ts';
