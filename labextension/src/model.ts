import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import { ServerConnection } from '@jupyterlab/services';
import { ISignal, Signal } from '@lumino/signaling';

import { JobBoard } from './jobs';
import { EnvcapsuleRequestError, requestAPI } from './request';
import {
  IActionError,
  ICapsuleStatus,
  IContainerUsage,
  IEnvcapsuleModel,
  IJob,
  IJobRef,
  IShareResult,
  IStartOptions,
  IUsage,
  JobKind
} from './tokens';

/** How often the status of the active notebook is refreshed while nothing else asks. */
const STATUS_POLL_MS = 30000;
/** How often the resource use of the capsule's running containers is refreshed while the sidebar is open. */
const USAGE_POLL_MS = 5000;

/**
 * The sidebar's state: it follows the active notebook, keeps its capsule status fresh,
 * starts jobs and follows their progress until they end.
 */
export class EnvcapsuleModel implements IEnvcapsuleModel {
  constructor(options: EnvcapsuleModel.IOptions) {
    this._tracker = options.tracker;
    this._settings = options.settings ?? ServerConnection.makeSettings();
    this._jobs = new JobBoard(this._settings);
    this._jobs.changed.connect(this._emit, this);
    this._jobs.finished.connect((_, job) => {
      this._jobFinished.emit(job);
      void this.refresh();
    });
    this._tracker.currentChanged.connect(this._onCurrentChanged, this);
    this._follow(this._tracker.currentWidget);
    this._timer = window.setInterval(() => {
      if (this._watched && this._path && !this._refreshing && !document.hidden) {
        void this.refresh();
      }
    }, options.pollInterval ?? STATUS_POLL_MS);
    this._usageTimer = window.setInterval(() => {
      if (this._watched && !document.hidden) {
        void this.refreshUsage();
      }
    }, options.usagePollInterval ?? USAGE_POLL_MS);
  }

  /** Whether someone looks at the status (the sidebar is open): only then is it polled. */
  get watched(): boolean {
    return this._watched;
  }

  set watched(value: boolean) {
    this._watched = value;
  }

  get notebook(): NotebookPanel | null {
    return this._panel;
  }

  get path(): string | null {
    return this._path;
  }

  get status(): ICapsuleStatus | null {
    return this._status;
  }

  get statusError(): string | null {
    return this._statusError;
  }

  get refreshing(): boolean {
    return this._refreshing;
  }

  get actionError(): IActionError | null {
    return this._actionError;
  }

  get shareResult(): IShareResult | null {
    return this._shareResult;
  }

  get jobs(): ReadonlyArray<IJob> {
    return this._jobs.latestFor(this._path);
  }

  get usage(): ReadonlyMap<string, IUsage> {
    return this._usage;
  }

  get stateChanged(): ISignal<IEnvcapsuleModel, void> {
    return this._stateChanged;
  }

  get jobFinished(): ISignal<IEnvcapsuleModel, IJob> {
    return this._jobFinished;
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  isRunning(kind: JobKind): boolean {
    return this.jobs.some(job => job.kind === kind && job.state === 'running');
  }

  /** Ask the server for the active notebook's capsule status. */
  async refresh(): Promise<void> {
    const path = this._path;
    if (path === null) {
      return;
    }
    const ticket = ++this._refreshTicket;
    this._refreshing = true;
    this._emit();
    try {
      const status = await requestAPI<ICapsuleStatus>(
        'status',
        { method: 'GET' },
        { path },
        this._settings
      );
      if (ticket !== this._refreshTicket || path !== this._path) {
        return; // the user moved on to another notebook meanwhile
      }
      this._status = status;
      this._statusError = null;
      if (status.containers.length && this._watched) {
        void this.refreshUsage();
      }
      for (const job of status.jobs ?? []) {
        if (job.state === 'running') {
          this._jobs.track(job);
        }
      }
    } catch (error) {
      if (ticket === this._refreshTicket && path === this._path) {
        this._statusError = messageOf(error);
      }
    } finally {
      if (ticket === this._refreshTicket) {
        this._refreshing = false;
        this._emit();
      }
    }
  }

  /** Ask what the capsule's running containers use now; only when the status shows some. */
  async refreshUsage(): Promise<void> {
    const path = this._path;
    if (path === null || this._usageBusy || !this._status?.containers.length) {
      if (this._usage.size && !this._status?.containers.length) {
        this._usage = new Map();
        this._emit();
      }
      return;
    }
    this._usageBusy = true;
    try {
      const reply = await requestAPI<{ containers: IContainerUsage[] }>(
        'usage',
        { method: 'GET' },
        { path },
        this._settings
      );
      if (path === this._path) {
        this._usage = new Map(reply.containers.map(item => [item.container, item.usage]));
        this._emit();
      }
    } catch {
      // Resource use is a bonus: the status says why the engine cannot be asked.
    } finally {
      this._usageBusy = false;
    }
  }

  /** Start a job for the active notebook; a build already running is followed instead. */
  async start(kind: JobKind, options: IStartOptions = {}): Promise<IJob | null> {
    const path = this._path;
    if (path === null) {
      return null;
    }
    this._actionError = null;
    this._emit();
    try {
      const reply = await requestAPI<{ job: IJobRef }>(
        kind,
        { method: 'POST', body: JSON.stringify({ ...options, path }) },
        {},
        this._settings
      );
      return this._jobs.track(reply.job);
    } catch (error) {
      this._actionError = { action: kind, message: messageOf(error) };
      this._emit();
      // 409: another job already runs on this capsule; follow it instead.
      const running = error instanceof EnvcapsuleRequestError && error.status === 409 ? error.body?.job : null;
      return running ? this._jobs.trackById(running) : null;
    }
  }

  async cancel(jobId: string): Promise<void> {
    try {
      await requestAPI<unknown>(`jobs/${encodeURIComponent(jobId)}`, { method: 'DELETE' }, {}, this._settings);
    } catch (error) {
      const job = this.jobs.find(candidate => candidate.id === jobId);
      this._actionError = { action: job?.kind ?? 'build', message: messageOf(error) };
      this._emit();
    }
  }

  /** Fetch the share link for the active notebook. */
  async share(): Promise<IShareResult | null> {
    const path = this._path;
    if (path === null) {
      return null;
    }
    this._actionError = null;
    try {
      this._shareResult = await requestAPI<IShareResult>('share', { method: 'GET' }, { path }, this._settings);
      return this._shareResult;
    } catch (error) {
      this._actionError = { action: 'share', message: messageOf(error) };
      return null;
    } finally {
      this._emit();
    }
  }

  /** Stop one container started from the capsule. */
  async stop(container: string): Promise<void> {
    this._actionError = null;
    try {
      await requestAPI<{ stopped: string[] }>(
        'stop',
        { method: 'POST', body: JSON.stringify({ container }) },
        {},
        this._settings
      );
    } catch (error) {
      this._actionError = { action: 'stop', message: messageOf(error) };
    }
    await this.refresh();
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    window.clearInterval(this._timer);
    window.clearInterval(this._usageTimer);
    this._jobs.dispose();
    this._tracker.currentChanged.disconnect(this._onCurrentChanged, this);
    this._follow(null);
    Signal.clearData(this);
  }

  private _onCurrentChanged(_: INotebookTracker, panel: NotebookPanel | null): void {
    // Keep following the last notebook while another kind of document is focused.
    if (panel) {
      this._follow(panel);
    }
  }

  private _follow(panel: NotebookPanel | null): void {
    if (panel === this._panel) {
      return;
    }
    if (this._panel) {
      this._panel.context.pathChanged.disconnect(this._onPathChanged, this);
      this._panel.sessionContext.kernelChanged.disconnect(this._onKernelChanged, this);
      this._panel.disposed.disconnect(this._onPanelDisposed, this);
    }
    this._panel = panel;
    this._status = null;
    this._usage = new Map();
    this._statusError = null;
    this._actionError = null;
    this._shareResult = null;
    this._path = panel ? panel.context.path : null;
    if (panel) {
      panel.context.pathChanged.connect(this._onPathChanged, this);
      panel.sessionContext.kernelChanged.connect(this._onKernelChanged, this);
      panel.disposed.connect(this._onPanelDisposed, this);
      void panel.context.ready.then(() => {
        if (this._panel === panel) {
          void this.refresh();
        }
      });
    }
    this._emit();
  }

  private _onPathChanged(): void {
    this._path = this._panel ? this._panel.context.path : null;
    this._status = null;
    void this.refresh();
  }

  private _onKernelChanged(): void {
    // Another kernel may run another interpreter: compare against that one.
    if (this._panel?.context.isReady) {
      void this.refresh();
    }
  }

  private _onPanelDisposed(): void {
    this._follow(this._tracker.currentWidget);
  }

  private _emit(): void {
    if (!this._isDisposed) {
      this._stateChanged.emit();
    }
  }

  private _tracker: INotebookTracker;
  private _settings: ServerConnection.ISettings;
  private _panel: NotebookPanel | null = null;
  private _path: string | null = null;
  private _status: ICapsuleStatus | null = null;
  private _statusError: string | null = null;
  private _refreshing = false;
  private _refreshTicket = 0;
  private _actionError: IActionError | null = null;
  private _shareResult: IShareResult | null = null;
  private _jobs: JobBoard;
  private _timer: number;
  private _usageTimer: number;
  private _usage: ReadonlyMap<string, IUsage> = new Map();
  private _usageBusy = false;
  private _watched = false;
  private _isDisposed = false;
  private _stateChanged = new Signal<IEnvcapsuleModel, void>(this);
  private _jobFinished = new Signal<IEnvcapsuleModel, IJob>(this);
}

export namespace EnvcapsuleModel {
  export interface IOptions {
    tracker: INotebookTracker;
    settings?: ServerConnection.ISettings;
    pollInterval?: number;
    usagePollInterval?: number;
  }
}

/** The one sentence to show for any error. */
export function messageOf(error: unknown): string {
  if (error instanceof Error && error.message) {
    return error.message;
  }
  return String(error);
}
