import { ServerConnection } from '@jupyterlab/services';
import { ISignal, Signal } from '@lumino/signaling';

import { JobFollower } from './follower';
import { requestAPI } from './request';
import { IJob, IJobRef, JobKind } from './tokens';

/** Every job the sidebar has seen, each followed (once) until it ends. */
export class JobBoard {
  constructor(settings: ServerConnection.ISettings) {
    this._settings = settings;
  }

  /** A job started, progressed or ended. */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /** A job ended; emitted once per job. */
  get finished(): ISignal<this, IJob> {
    return this._finished;
  }

  /** The latest job of each kind for one notebook. */
  latestFor(path: string | null): IJob[] {
    const latest = new Map<JobKind, IJob>();
    for (const job of this._jobs.values()) {
      if (job.path === path) {
        latest.set(job.kind, job);
      }
    }
    return Array.from(latest.values());
  }

  /** Follow a job's progress until it ends; a job already followed is left as it is. */
  track(ref: IJobRef): IJob {
    const known = this._jobs.get(ref.id);
    if (known) {
      return known;
    }
    const job: IJob = {
      step: null,
      completed: null,
      total: null,
      result: null,
      error: null,
      error_code: null,
      ...ref,
      log: [] // the event stream replays the log tail when it connects
    };
    this._jobs.set(job.id, job);
    this._changed.emit();
    // Even a job already ended (one that failed before its POST was answered): the stream replays its log and end.
    this._follow(job);
    return job;
  }

  /** Follow a job known only by its id, as a 409 names the job already running. */
  async trackById(running: string | IJobRef): Promise<IJob | null> {
    if (typeof running !== 'string') {
      return this.track(running);
    }
    try {
      const job = await requestAPI<IJob>(`jobs/${encodeURIComponent(running)}`, { method: 'GET' }, {}, this._settings);
      return this.track(job);
    } catch {
      return null;
    }
  }

  dispose(): void {
    for (const follower of this._followers.values()) {
      follower.dispose();
    }
    this._followers.clear();
    Signal.clearData(this);
  }

  private _follow(job: IJob): void {
    const follower = new JobFollower(job, this._settings);
    this._followers.set(job.id, follower);
    follower.changed.connect((_, updated) => {
      this._jobs.set(updated.id, updated);
      this._changed.emit();
    });
    follower.finished.connect((_, final) => {
      this._jobs.set(final.id, final);
      this._followers.delete(final.id);
      follower.dispose();
      this._changed.emit();
      this._finished.emit(final);
    });
  }

  private _settings: ServerConnection.ISettings;
  private _jobs = new Map<string, IJob>();
  private _followers = new Map<string, JobFollower>();
  private _changed = new Signal<this, void>(this);
  private _finished = new Signal<this, IJob>(this);
}
