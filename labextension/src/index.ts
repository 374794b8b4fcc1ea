import {
  ILayoutRestorer,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { INotebookTracker } from '@jupyterlab/notebook';

import { addCommands, CommandIDs } from './commands';
import { announce, openLaunched, recordSnapshot } from './effects';
import { capsuleIcon } from './icons';
import { EnvcapsuleModel } from './model';
import { IEnvcapsuleModel, IJob } from './tokens';
import { EnvcapsulePanel } from './widget';

/** The sidebar's id: its tab in the left area, and its key in the layout restorer. */
const SIDEBAR_ID = 'envcapsule-sidebar';
/** Where the tab sits among the left-area tabs (file browser 100, running 200, git 200). */
const SIDEBAR_RANK = 700;

const plugin: JupyterFrontEndPlugin<IEnvcapsuleModel> = {
  id: '@envcapsule/labextension:plugin',
  description: "A sidebar that captures, builds, launches, verifies and shares a notebook's environment.",
  autoStart: true,
  requires: [INotebookTracker],
  optional: [ILayoutRestorer, ICommandPalette],
  provides: IEnvcapsuleModel,
  activate: (
    app: JupyterFrontEnd,
    tracker: INotebookTracker,
    restorer: ILayoutRestorer | null,
    palette: ICommandPalette | null
  ): IEnvcapsuleModel => {
    const model = new EnvcapsuleModel({ tracker });

    const panel = new EnvcapsulePanel(model, app.commands);
    panel.id = SIDEBAR_ID;
    panel.title.icon = capsuleIcon;
    panel.title.caption = 'envcapsule';
    app.shell.add(panel, 'left', { rank: SIDEBAR_RANK });
    if (restorer) {
      restorer.add(panel, SIDEBAR_ID);
    }

    addCommands(app, model, palette, () => app.shell.activateById(SIDEBAR_ID));
    model.jobFinished.connect((_, job) => void onJobFinished(app, tracker, model, job));
    return model;
  }
};

async function onJobFinished(
  app: JupyterFrontEnd,
  tracker: INotebookTracker,
  model: IEnvcapsuleModel,
  job: IJob
): Promise<void> {
  // The command launches the active notebook, so it is offered only while that is the one refused.
  const launchOnCpu =
    job.path === model.path ? () => void app.commands.execute(CommandIDs.launchOnCpu) : undefined;
  announce(job, launchOnCpu);
  if (job.state !== 'done') {
    return;
  }
  if (job.kind === 'snapshot') {
    if (typeof job.result?.capsule_hash !== 'string' && model.path === job.path) {
      // The result carries no hash: take it from the fresh status.
      await model.refresh();
      const hash = model.status?.capsule_hash;
      job = { ...job, result: { ...(job.result ?? {}), capsule_hash: hash } };
    }
    recordSnapshot(tracker, job);
  } else if (job.kind === 'launch') {
    openLaunched(job);
  }
}

export default plugin;
export * from './tokens';
