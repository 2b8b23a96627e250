export {
  createSession,
  withSession,
  toOrt,
  fromOrt,
  type ExecutionProvider,
  type SessionOptions,
  type OpenedSession,
} from './session.ts';
