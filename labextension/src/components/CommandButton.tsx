import { CommandRegistry } from '@lumino/commands';
import * as React from 'react';

/** A button that runs a command, labelled, captioned and enabled as the command says. */
export function CommandButton(props: { commands: CommandRegistry; id: string; className: string }): JSX.Element {
  const { commands, id } = props;
  return (
    <button
      className={`jp-mod-styled ${props.className}`}
      data-command={id}
      title={commands.caption(id)}
      disabled={!commands.isEnabled(id)}
      onClick={() => void commands.execute(id)}
    >
      {commands.label(id)}
    </button>
  );
}
