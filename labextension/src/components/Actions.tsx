import { CommandRegistry } from '@lumino/commands';
import * as React from 'react';

import { CommandIDs } from '../commands';
import { IEnvcapsuleModel } from '../tokens';
import { CommandButton } from './CommandButton';

const BUTTONS = [
  CommandIDs.snapshot,
  CommandIDs.build,
  CommandIDs.launch,
  CommandIDs.verify,
  CommandIDs.copyShareLink
];

/** One button per command, so the sidebar and the palette do the same thing. */
export function Actions(props: { model: IEnvcapsuleModel; commands: CommandRegistry }): JSX.Element {
  const { model, commands } = props;
  const share = model.shareResult;
  return (
    <section className="jp-envcapsule-section jp-envcapsule-actions">
      <div className="jp-envcapsule-buttons">
        {BUTTONS.map(id => (
          <CommandButton key={id} commands={commands} id={id} className="jp-envcapsule-action" />
        ))}
      </div>
      {model.actionError && (
        <div className="jp-envcapsule-error" role="alert">
          {model.actionError.message}
        </div>
      )}
      {share && (share.link || share.no_link) && (
        <div className="jp-envcapsule-share">
          {share.link ? (
            <a href={share.link} target="_blank" rel="noopener noreferrer">
              {share.link}
            </a>
          ) : (
            <span className="jp-envcapsule-muted">{share.no_link}</span>
          )}
          {share.warnings.map(warning => (
            <span key={warning} className="jp-envcapsule-muted">
              {warning}
            </span>
          ))}
        </div>
      )}
    </section>
  );
}
