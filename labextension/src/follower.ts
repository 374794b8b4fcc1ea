import { ServerConnection } from '@jupyterlab/services';
import { ISignal, Signal } from '@lumino/signaling';

import { jobEventsURL, requestAPI } from './request';
import { IJob, JobState } from './tokens';

/** The log lines kept in the browser per job; the server keeps the full log. */
const LOG_TAIL = 200;
/** Polling is the fallback when server-sent events cannot be used. */
const POLL_MS = 1000;
/** Consecutive failed polls before the sidebar gives up following a job. */
const MAX_POLL_FAILURES = 10;
const FINAL_STATES: JobState[] = ['done', 'failed', 'cancelled'];

/**
 * Follows one job until it ends: server-sent events (`jobs/<id>/events`) while they
 * flow, `GET jobs/<id>` polling when they cannot be had.
 */
export class JobFollower {
  constructor(job: IJob, settings: ServerConnection.ISettings) {
    this._job = job;
    this._settings = settings;
    if (typeof EventSource === 'undefined') {
      void this._poll();
    } else {
      this._listen();
    }
  }

  get job(): IJob {
    return this._job;
  }

  /** Progress or log lines arrived. */
  get changed(): ISignal<this, IJob> {
    return this._changed;
  }

  /** The job ended; emitted once. */
  get finished(): ISignal<this, IJob> {
    return this._finished;
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    this._source?.close();
    this._source = null;
    Signal.clearData(this);
  }

  private _listen(): void {
    const source = new EventSource(jobEventsURL(this._job.id, this._settings));
    this._source = source;
    source.addEventListener('progress', event => {
      const data = parse((event as MessageEvent).data);
      this._update({
        step: data.step ?? this._job.step,
        completed: data.completed ?? this._job.completed,
        total: data.total ?? this._job.total
      });
    });
    source.addEventListener('log', event => {
      const line = parse((event as MessageEvent).data).line;
      if (typeof line === 'string') {
        this._update({ log: [...this._job.log, line].slice(-LOG_TAIL) });
      }
    });
    for (const state of FINAL_STATES) {
      source.addEventListener(state, event => {
        this._finish({ ...this._job, state, ...parse((event as MessageEvent).data) });
      });
    }
    source.onerror = () => {
      // A dropped or refused stream: the job may still run, so ask for it instead.
      if (this._done || this._isDisposed) {
        return;
      }
      source.close();
      this._source = null;
      void this._poll();
    };
  }

  private async _poll(): Promise<void> {
    let failures = 0;
    while (!this._done && !this._isDisposed) {
      try {
        const job = await requestAPI<IJob>(
          `jobs/${encodeURIComponent(this._job.id)}`,
          { method: 'GET' },
          {},
          this._settings
        );
        failures = 0;
        if (FINAL_STATES.includes(job.state)) {
          this._finish(job);
          return;
        }
        this._update(job);
      } catch (error) {
        if (++failures >= MAX_POLL_FAILURES) {
          const reason = error instanceof Error ? error.message : String(error);
          this._finish({
            ...this._job,
            state: 'failed',
            error: `The sidebar lost track of this job (${reason}); press Refresh to see whether it finished.`
          });
          return;
        }
      }
      await new Promise(resolve => setTimeout(resolve, POLL_MS));
    }
  }

  private _update(change: Partial<IJob>): void {
    if (this._done || this._isDisposed) {
      return;
    }
    this._job = { ...this._job, ...change, log: (change.log ?? this._job.log).slice(-LOG_TAIL) };
    this._changed.emit(this._job);
  }

  private _finish(job: IJob): void {
    if (this._done || this._isDisposed) {
      return;
    }
    this._done = true;
    this._source?.close();
    this._source = null;
    this._job = { ...this._job, ...job, log: (job.log ?? this._job.log).slice(-LOG_TAIL) };
    this._finished.emit(this._job);
  }

  private _job: IJob;
  private _settings: ServerConnection.ISettings;
  private _source: EventSource | null = null;
  private _done = false;
  private _isDisposed = false;
  private _changed = new Signal<this, IJob>(this);
  private _finished = new Signal<this, IJob>(this);
}

function parse(data: string): any {
  try {
    return JSON.parse(data) ?? {};
  } catch {
    return {};
  }
}
