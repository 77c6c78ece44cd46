/** A minimal leveled logger writing one line per event to stderr (stdout is for data). */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(namespace: string): Logger;
}

export function createLogger(namespace = 'sluice', level: LogLevel = (process.env.SLUICE_LOG_LEVEL as LogLevel | undefined) ?? 'info', sink: (line: string) => void = (l) => process.stderr.write(l + '\n')): Logger {
  const min = ORDER[level] ?? ORDER.info;
  const emit = (lvl: LogLevel, msg: string, fields?: Record<string, unknown>): void => {
    if (ORDER[lvl] < min) return;
    const extra = fields && Object.keys(fields).length ? ' ' + JSON.stringify(fields) : '';
    sink(`${new Date().toISOString()} ${lvl.toUpperCase()} [${namespace}] ${msg}${extra}`);
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (ns) => createLogger(`${namespace}:${ns}`, level, sink),
  };
}

/** A logger that keeps lines in memory, for tests that assert on log output. */
export function memoryLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const base = createLogger('sluice', 'debug', (l) => lines.push(l));
  return Object.assign(base, { lines });
}
