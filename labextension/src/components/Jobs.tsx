import { CommandRegistry } from '@lumino/commands';
import * as React from 'react';

import { CommandIDs } from '../commands';
import { IJob } from '../tokens';
import { CommandButton } from './CommandButton';

/** Log lines shown under a job; the full log stays on the server. */
const TAIL_LINES = 8;

/** Running jobs with a live progress bar and log tail; ended ones with their outcome. */
export function JobList(props: {
  jobs: ReadonlyArray<IJob>;
  commands: CommandRegistry;
  onCancel: (id: string) => void;
}): JSX.Element | null {
  if (props.jobs.length === 0) {
    return null;
  }
  return (
    <section className="jp-envcapsule-section jp-envcapsule-jobs">
      {props.jobs.map(job => (
        <JobView key={job.id} job={job} commands={props.commands} onCancel={() => props.onCancel(job.id)} />
      ))}
    </section>
  );
}

function JobView(props: { job: IJob; commands: CommandRegistry; onCancel: () => void }): JSX.Element {
  const { job } = props;
  const running = job.state === 'running';
  const known = typeof job.total === 'number' && job.total > 0 && typeof job.completed === 'number';
  const percent = known ? Math.min(100, Math.round((100 * (job.completed as number)) / (job.total as number))) : null;
  const tail = job.log.slice(running ? -TAIL_LINES : -2 * TAIL_LINES);
  return (
    <div className={`jp-envcapsule-job jp-envcapsule-job-${job.state}`} data-kind={job.kind} data-state={job.state}>
      <div className="jp-envcapsule-job-head">
        <strong>{job.kind}</strong>
        <span>{running ? job.step || 'starting…' : job.state}</span>
        {running && (
          <button className="jp-mod-styled jp-envcapsule-cancel" onClick={props.onCancel}>
            Cancel
          </button>
        )}
      </div>
      {running && (
        <div
          className={`jp-envcapsule-progress${percent === null ? ' jp-mod-indeterminate' : ''}`}
          role="progressbar"
          aria-valuemin={0}
          aria-valuemax={100}
          aria-valuenow={percent ?? undefined}
        >
          <div className="jp-envcapsule-progress-fill" style={{ width: percent === null ? '30%' : `${percent}%` }} />
        </div>
      )}
      {job.state === 'failed' && job.error && (
        <div className="jp-envcapsule-error" role="alert">
          <span>{job.error}</span>
          {job.kind === 'launch' && job.error_code === 'gpu' && (
            <CommandButton commands={props.commands} id={CommandIDs.launchOnCpu} className="jp-envcapsule-offer" />
          )}
        </div>
      )}
      {(running || job.state === 'failed') && tail.length > 0 && (
        <pre className="jp-envcapsule-log">{tail.join('\n')}</pre>
      )}
    </div>
  );
}
