import { JupyterFrontEnd } from '@jupyterlab/application';
import { Clipboard, ICommandPalette, Notification } from '@jupyterlab/apputils';

import { capsuleIcon } from './icons';
import { IEnvcapsuleModel, JobKind } from './tokens';

export namespace CommandIDs {
  export const snapshot = 'envcapsule:snapshot';
  export const build = 'envcapsule:build';
  export const launch = 'envcapsule:launch';
  export const launchOnCpu = 'envcapsule:launch-on-cpu';
  export const verify = 'envcapsule:verify';
  export const copyShareLink = 'envcapsule:copy-share-link';
  export const refresh = 'envcapsule:refresh';
  export const open = 'envcapsule:open-sidebar';
}

const JOB_COMMANDS: { kind: JobKind; id: string; label: string; caption: string }[] = [
  {
    kind: 'snapshot',
    id: CommandIDs.snapshot,
    label: 'Snapshot',
    caption: "Capture the notebook kernel's exact environment into a capsule"
  },
  {
    kind: 'build',
    id: CommandIDs.build,
    label: 'Build',
    caption: "Build the capsule's container image"
  },
  {
    kind: 'launch',
    id: CommandIDs.launch,
    label: 'Launch',
    caption: 'Start the notebook in its container and open it in a new tab'
  },
  {
    kind: 'verify',
    id: CommandIDs.verify,
    label: 'Verify',
    caption: 'Re-execute the notebook in its container and compare the outputs'
  }
];

/** The sidebar's actions, as commands: the buttons and the command palette run the same ones. */
export function addCommands(
  app: JupyterFrontEnd,
  model: IEnvcapsuleModel,
  palette: ICommandPalette | null,
  openSidebar: () => void
): void {
  const { commands } = app;
  const category = 'envcapsule';
  const hasCapsule = () => model.path !== null && model.status?.state !== 'none';

  for (const { kind, id, label, caption } of JOB_COMMANDS) {
    commands.addCommand(id, {
      label: args => (args.isPalette ? `envcapsule: ${label}` : label),
      caption,
      isEnabled: () =>
        model.path !== null && !model.isRunning(kind) && (kind === 'snapshot' || hasCapsule()),
      execute: async () => {
        await model.start(kind);
      }
    });
  }

  commands.addCommand(CommandIDs.launchOnCpu, {
    label: args => (args.isPalette ? 'envcapsule: Launch on CPU' : 'Launch on CPU'),
    caption: 'Start the notebook in its container without GPUs and open it in a new tab',
    isEnabled: () => hasCapsule() && !model.isRunning('launch'),
    execute: async () => {
      await model.start('launch', { gpus: 'none' });
    }
  });

  commands.addCommand(CommandIDs.copyShareLink, {
    label: args => (args.isPalette ? 'envcapsule: Copy Share Link' : 'Copy share link'),
    caption: "Copy a link that reproduces this notebook's capsule",
    isEnabled: () => hasCapsule(),
    execute: async () => {
      const share = await model.share();
      if (!share) {
        Notification.error(model.actionError?.message ?? 'No share link could be made.');
        return;
      }
      if (!share.link) {
        Notification.warning(share.no_link ?? 'This capsule has no share link yet.', {
          autoClose: 8000
        });
        return;
      }
      await copyText(share.link);
      Notification.success('Share link copied to the clipboard.', { autoClose: 3000 });
    }
  });

  commands.addCommand(CommandIDs.refresh, {
    label: args => (args.isPalette ? 'envcapsule: Refresh Status' : 'Refresh'),
    caption: "Compare the kernel's environment with its capsule again",
    isEnabled: () => model.path !== null,
    execute: () => model.refresh()
  });

  commands.addCommand(CommandIDs.open, {
    label: 'envcapsule: Show Sidebar',
    icon: capsuleIcon,
    execute: () => openSidebar()
  });

  model.stateChanged.connect(() => commands.notifyCommandChanged());

  if (palette) {
    for (const command of [
      CommandIDs.open,
      CommandIDs.snapshot,
      CommandIDs.build,
      CommandIDs.launch,
      CommandIDs.launchOnCpu,
      CommandIDs.verify,
      CommandIDs.copyShareLink,
      CommandIDs.refresh
    ]) {
      palette.addItem({ command, category, args: { isPalette: true } });
    }
  }
}

async function copyText(text: string): Promise<void> {
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    Clipboard.copyToSystem(text); // no async clipboard (plain http on a remote host)
  }
}
