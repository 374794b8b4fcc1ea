import { NotebookPanel } from '@jupyterlab/notebook';
import { Token } from '@lumino/coreutils';
import { ISignal } from '@lumino/signaling';

/** The long operations the server runs as jobs. */
export type JobKind = 'snapshot' | 'build' | 'launch' | 'verify';

export type JobState = 'running' | 'done' | 'failed' | 'cancelled';

export type CapsuleState = 'none' | 'up-to-date' | 'drifted';

/** A container started from the capsule's image (`GET status` → `containers`). */
export interface IContainer {
  container: string;
  name: string;
  url: string | null;
}

/** What one container uses now (`GET usage?path=NB` → `containers[].usage`). */
export interface IUsage {
  /** Of one CPU, as `docker stats` shows it: 200 is two CPUs busy; null when not sampled. */
  cpu_percent: number | null;
  cpu_seconds: number;
  memory_bytes: number;
  /** The --memory limit; null when the container has none. */
  memory_limit_bytes: number | null;
  cpus_limit: number | null;
  started: string;
  uptime_seconds: number;
}

/** `GET usage?path=NB`. */
export interface IContainerUsage {
  container: string;
  name: string;
  usage: IUsage;
}

/** `GET status?path=NB`. */
export interface ICapsuleStatus {
  path: string;
  state: CapsuleState;
  changes: string[];
  /** The drift in one line: "62 added, 2 changed, interpreter CPython 3.11.2 → CPython 3.11.7". */
  summary: string;
  capsule_hash: string | null;
  image: string | null;
  image_built: boolean | null;
  containers: IContainer[];
  last_verify: IVerifySummary | null;
  engine_error: string | null;
  python: string | null;
  packages: number;
  cuda: string | null;
  warnings: string[];
  jobs: IJobRef[];
}

/** The last verify result kept beside the capsule. */
export interface IVerifySummary {
  reproduced?: boolean | null;
  total?: number | null;
  reproduced_cells?: number | null;
  differing?: unknown;
  errored?: unknown;
  message?: string | null;
  /** When the run started (ISO 8601, UTC). */
  at?: string | null;
  exact_conditions?: boolean | null;
  warnings?: string[] | null;
  /** The run's report, kept so its cells can be read after the job has ended. */
  report?: { cells?: IVerifyCell[] | null } | null;
  [key: string]: unknown;
}

/** One code cell of a kept verify report. */
export interface IVerifyCell {
  index: number;
  id?: string | null;
  status: string;
  message?: string | null;
  diff?: string | null;
}

/** A job as the server names it when it starts (`POST snapshot|build|launch|verify`). */
export interface IJobRef {
  id: string;
  kind: JobKind;
  path: string;
  state: JobState;
}

/** Why a job failed, when a client can act on it: `gpu` means this host cannot give the container a GPU. */
export type JobErrorCode = 'gpu';

/** `GET jobs/<id>`, and the final SSE event. */
export interface IJob extends IJobRef {
  step: string | null;
  completed: number | null;
  total: number | null;
  log: string[];
  result: { [key: string]: any } | null;
  error: string | null;
  error_code: JobErrorCode | null;
}

/** What a job's POST may carry besides the notebook's path. */
export interface IStartOptions {
  /** The GPUs a launched CUDA capsule gets: `all` (the server's default), `none`, a number, or `device=ID,...`. */
  gpus?: string;
}

/** `GET share?path=NB`. */
export interface IShareResult {
  link: string | null;
  badge: string | null;
  no_link: string | null;
  warnings: string[];
}

/** What went wrong with one action (a button press), shown beside the buttons. */
export interface IActionError {
  action: JobKind | 'share' | 'stop';
  message: string;
}

/** The sidebar's state for the active notebook. */
export interface IEnvcapsuleModel {
  /** The notebook the sidebar follows, or null when none is active. */
  readonly notebook: NotebookPanel | null;
  /** Its path relative to the server root. */
  readonly path: string | null;
  readonly status: ICapsuleStatus | null;
  /** Why the last status request failed, if it did. */
  readonly statusError: string | null;
  readonly refreshing: boolean;
  readonly actionError: IActionError | null;
  readonly shareResult: IShareResult | null;
  /** The latest job of each kind for the active notebook. */
  readonly jobs: ReadonlyArray<IJob>;
  /** What each of the capsule's running containers uses, by container id, refreshed while the sidebar is open. */
  readonly usage: ReadonlyMap<string, IUsage>;
  /** Emitted whenever anything above changes. */
  readonly stateChanged: ISignal<IEnvcapsuleModel, void>;
  /** Emitted once when a job ends (done, failed or cancelled). */
  readonly jobFinished: ISignal<IEnvcapsuleModel, IJob>;

  isRunning(kind: JobKind): boolean;
  refresh(): Promise<void>;
  start(kind: JobKind, options?: IStartOptions): Promise<IJob | null>;
  cancel(jobId: string): Promise<void>;
  share(): Promise<IShareResult | null>;
  stop(container: string): Promise<void>;
}

/** The envcapsule sidebar model, for other extensions that want to follow it. */
export const IEnvcapsuleModel = new Token<IEnvcapsuleModel>(
  '@envcapsule/labextension:IEnvcapsuleModel',
  'The state of the envcapsule sidebar for the active notebook.'
);
