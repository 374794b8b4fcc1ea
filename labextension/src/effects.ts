import { Notification } from '@jupyterlab/apputils';
import { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';

import { IJob } from './tokens';

/** The key under which a notebook's metadata records its capsule. */
export const METADATA_KEY = 'envcapsule';

/**
 * After a snapshot, record the capsule in the open notebook's metadata through its
 * model; the user's next save writes it, so nothing is written behind the editor.
 */
export function recordSnapshot(tracker: INotebookTracker, job: IJob): void {
  const hash = job.result?.capsule_hash;
  if (typeof hash !== 'string' || !hash) {
    return;
  }
  const panel = tracker.find((widget: NotebookPanel) => widget.context.path === job.path);
  const model = panel?.content.model;
  if (!model) {
    return;
  }
  model.setMetadata(METADATA_KEY, {
    capsule_hash: hash,
    snapshot: new Date().toISOString()
  });
}

/** After a launch, open the running notebook in a new tab (or offer to, when popups are blocked). */
export function openLaunched(job: IJob): void {
  const url = job.result?.url;
  if (typeof url !== 'string' || !url) {
    return;
  }
  const tab = window.open(url, '_blank');
  if (tab) {
    tab.opener = null;
    return;
  }
  Notification.info('The capsule is running; the browser blocked the new tab.', {
    autoClose: false,
    actions: [
      {
        label: 'Open',
        callback: () => {
          window.open(url, '_blank', 'noopener');
        }
      }
    ]
  });
}

/**
 * Tell the user how a job ended when the sidebar may not be in view; a launch refused
 * for want of a GPU carries `launchOnCpu` as an action, when given.
 */
export function announce(job: IJob, launchOnCpu?: () => void): void {
  const title = job.kind.charAt(0).toUpperCase() + job.kind.slice(1);
  if (job.state === 'done') {
    Notification.success(`${title} finished.`, { autoClose: 4000 });
  } else if (job.state === 'failed') {
    const offer = launchOnCpu && job.kind === 'launch' && job.error_code === 'gpu';
    Notification.error(`${title} failed: ${job.error ?? 'see the log in the envcapsule sidebar.'}`, {
      autoClose: offer ? false : 8000,
      actions: offer ? [{ label: 'Launch on CPU', callback: launchOnCpu }] : []
    });
  }
}
