// The message loadConfig stops with for `env`; fails the test when it accepts it.
import { expect } from 'vitest';
import { ConfigError, loadConfig } from '../../infra/config.ts';

export function configErrorOf(env: NodeJS.ProcessEnv): string {
  try {
    loadConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as Error).message;
  }
  throw new Error(`loadConfig accepted ${JSON.stringify(env)}`);
}
