import * as React from 'react';

import { CapsuleState, ICapsuleStatus } from '../tokens';

const STATE_LABELS: { [state in CapsuleState]: string } = {
  none: 'no capsule yet',
  'up-to-date': 'up to date',
  drifted: 'drifted'
};

/** Python, number of packages, CUDA: what the capsule holds. */
export function EnvironmentSection(props: { status: ICapsuleStatus | null }): JSX.Element {
  const { status } = props;
  return (
    <section className="jp-envcapsule-section jp-envcapsule-environment">
      <h3>Environment</h3>
      <dl>
        <dt>Python</dt>
        <dd>{status?.python ?? '—'}</dd>
        <dt>Packages</dt>
        <dd>{status && status.state !== 'none' ? status.packages : '—'}</dd>
        {status?.cuda && (
          <>
            <dt>CUDA</dt>
            <dd>{status.cuda}</dd>
          </>
        )}
      </dl>
    </section>
  );
}

/** Whether the capsule still matches the kernel, and what changed when it does not. */
export function CapsuleSection(props: { status: ICapsuleStatus | null; loading: boolean }): JSX.Element {
  const { status, loading } = props;
  return (
    <section className="jp-envcapsule-section jp-envcapsule-capsule">
      <h3>Capsule</h3>
      {status === null ? (
        <p className="jp-envcapsule-muted">{loading ? 'Checking the kernel environment…' : 'Status unknown.'}</p>
      ) : (
        <>
          <p>
            <span className={`jp-envcapsule-state jp-envcapsule-state-${status.state}`} data-state={status.state}>
              {STATE_LABELS[status.state] ?? status.state}
            </span>
          </p>
          {status.state === 'none' && (
            <p className="jp-envcapsule-muted">Press Snapshot to capture the kernel's environment.</p>
          )}
          {status.capsule_hash && (
            <p className="jp-envcapsule-hash" title={status.capsule_hash}>
              hash {status.capsule_hash.slice(0, 12)}
            </p>
          )}
          {status.state === 'drifted' && status.changes.length > 0 && (
            <details className="jp-envcapsule-drift">
              <summary>
                Changed since the snapshot: <span className="jp-envcapsule-drift-summary">{status.summary}</span>
              </summary>
              <ul className="jp-envcapsule-changes">
                {status.changes.map(change => (
                  <li key={change}>{change}</li>
                ))}
              </ul>
            </details>
          )}
          {status.warnings.length > 0 && (
            <ul className="jp-envcapsule-warnings">
              {status.warnings.map(warning => (
                <li key={warning}>{warning}</li>
              ))}
            </ul>
          )}
        </>
      )}
    </section>
  );
}
