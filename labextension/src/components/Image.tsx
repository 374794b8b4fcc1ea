import * as React from 'react';

import { ICapsuleStatus, IUsage, IVerifyCell, IVerifySummary } from '../tokens';

const ENGINE_HINT =
  'Start the engine (sudo systemctl start docker, or open Docker Desktop; for Podman: ' +
  'systemctl --user start podman.socket), then press Refresh. Snapshot and status work without it.';

/** The capsule's image and the containers running it. */
export function ImageSection(props: {
  status: ICapsuleStatus | null;
  usage?: ReadonlyMap<string, IUsage>;
  onStop: (container: string) => void;
}): JSX.Element | null {
  const { status, onStop } = props;
  if (!status || status.state === 'none') {
    return null;
  }
  return (
    <section className="jp-envcapsule-section jp-envcapsule-image">
      <h3>Image</h3>
      {status.image && (
        <p className="jp-envcapsule-tag" title={status.image}>
          {status.image}
        </p>
      )}
      {status.engine_error ? (
        <div className="jp-envcapsule-error jp-envcapsule-engine" role="alert">
          <span>Container engine unavailable: {status.engine_error}</span>
          <span className="jp-envcapsule-hint">{ENGINE_HINT}</span>
        </div>
      ) : (
        <p className="jp-envcapsule-muted">
          {status.image_built ? 'Built.' : 'Not built yet; press Build (Launch builds it too).'}
        </p>
      )}
      {status.containers.length > 0 && (
        <ul className="jp-envcapsule-containers">
          {status.containers.map(container => (
            <li key={container.container}>
              {container.url ? (
                <a href={container.url} target="_blank" rel="noopener noreferrer">
                  {container.name || container.container.slice(0, 12)}
                </a>
              ) : (
                <span>{container.name || container.container.slice(0, 12)}</span>
              )}
              <button className="jp-mod-styled jp-envcapsule-stop" onClick={() => onStop(container.container)}>
                Stop
              </button>
              <UsageLine usage={props.usage?.get(container.container)} />
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

/** CPU %, memory against its limit and uptime of one container, as `envcapsule ps` shows them. */
function UsageLine(props: { usage: IUsage | undefined }): JSX.Element | null {
  const { usage } = props;
  if (!usage) {
    return null;
  }
  const cpu = usage.cpu_percent === null ? '' : `CPU ${usage.cpu_percent.toFixed(1)}%`;
  const limit = usage.memory_limit_bytes === null ? '' : ` of ${bytes(usage.memory_limit_bytes)}`;
  const parts = [cpu, `${bytes(usage.memory_bytes)}${limit}`, `up ${duration(usage.uptime_seconds)}`];
  return (
    <span className="jp-envcapsule-usage" title={`started ${usage.started}`}>
      {parts.filter(part => part).join(' · ')}
    </span>
  );
}

export function bytes(count: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = count;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}

export function duration(seconds: number): string {
  if (seconds < 60) {
    return `${Math.floor(seconds)} s`;
  }
  if (seconds < 3600) {
    return `${Math.floor(seconds / 60)} min`;
  }
  const hours = Math.floor(seconds / 3600);
  return hours < 48 ? `${hours} h ${Math.floor((seconds % 3600) / 60)} min` : `${Math.floor(hours / 24)} days`;
}

/** The last verify result kept beside the capsule. */
export function VerifySection(props: { status: ICapsuleStatus | null }): JSX.Element | null {
  const verify = props.status?.last_verify;
  if (!props.status || props.status.state === 'none') {
    return null;
  }
  return (
    <section className="jp-envcapsule-section jp-envcapsule-verify">
      <h3>Last verify</h3>
      {verify ? <VerifyResult verify={verify} /> : <p className="jp-envcapsule-muted">Not verified yet.</p>}
    </section>
  );
}

function VerifyResult(props: { verify: IVerifySummary }): JSX.Element {
  const { verify } = props;
  const cells =
    typeof verify.total === 'number' && typeof verify.reproduced_cells === 'number'
      ? ` (${verify.reproduced_cells} of ${verify.total} cells)`
      : '';
  return (
    <>
      <p>
        <span className={verify.reproduced ? 'jp-envcapsule-ok' : 'jp-envcapsule-bad'}>
          {verify.reproduced ? 'reproduced' : 'not reproduced'}
        </span>
        {cells}
      </p>
      {verify.at && <p className="jp-envcapsule-muted jp-envcapsule-verify-time">{verifiedAt(verify.at)}</p>}
      {verify.message && <p className="jp-envcapsule-muted">{String(verify.message)}</p>}
      {verify.exact_conditions === false && (
        <ul className="jp-envcapsule-verify-warnings">
          {(verify.warnings ?? []).map(warning => (
            <li key={warning}>{warning}</li>
          ))}
        </ul>
      )}
      <VerifyLog cells={verify.report?.cells ?? []} />
    </>
  );
}

/** The kept report's cells that did not reproduce, readable after the job that made them has ended. */
function VerifyLog(props: { cells: IVerifyCell[] }): JSX.Element | null {
  const shown = props.cells.filter(cell => cell.status !== 'reproduced');
  if (shown.length === 0) {
    return null;
  }
  return (
    <details className="jp-envcapsule-verify-log">
      <summary>Report ({shown.length} cells not reproduced or not compared)</summary>
      <pre>
        {shown
          .map(cell => {
            const label = cell.id ? `cell ${cell.index} (id ${cell.id})` : `cell ${cell.index}`;
            const head = `${label} ${cell.status}${cell.message ? `: ${cell.message}` : ''}`;
            return cell.diff ? `${head}\n${cell.diff}` : head;
          })
          .join('\n')}
      </pre>
    </details>
  );
}

function verifiedAt(at: string): string {
  const when = new Date(at);
  return Number.isNaN(when.getTime()) ? `verified ${at}` : `verified ${when.toLocaleString()}`;
}
