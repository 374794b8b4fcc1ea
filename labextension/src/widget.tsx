import { ReactWidget, UseSignal } from '@jupyterlab/ui-components';
import { CommandRegistry } from '@lumino/commands';
import * as React from 'react';

import { Actions } from './components/Actions';
import { CapsuleSection, EnvironmentSection } from './components/Capsule';
import { ImageSection, VerifySection } from './components/Image';
import { JobList } from './components/Jobs';
import { EnvcapsuleModel } from './model';
import { IEnvcapsuleModel } from './tokens';

/** The left-panel widget: everything envcapsule knows about the active notebook. */
export class EnvcapsulePanel extends ReactWidget {
  constructor(
    private readonly _model: EnvcapsuleModel,
    private readonly _commands: CommandRegistry
  ) {
    super();
    this.addClass('jp-envcapsule-panel');
  }

  protected onAfterShow(): void {
    // What the sidebar shows when it opens should be current, and stay so while it is open.
    this._model.watched = true;
    void this._model.refresh();
  }

  protected onAfterHide(): void {
    this._model.watched = false;
  }

  render(): JSX.Element {
    return (
      <UseSignal signal={this._model.stateChanged}>
        {() => <Sidebar model={this._model} commands={this._commands} />}
      </UseSignal>
    );
  }
}

function Sidebar(props: { model: IEnvcapsuleModel; commands: CommandRegistry }): JSX.Element {
  const { model, commands } = props;
  if (model.path === null) {
    return (
      <div className="jp-envcapsule-body">
        <Header title="envcapsule" />
        <p className="jp-envcapsule-empty">
          Open a notebook to capture, build, launch and share its environment.
        </p>
      </div>
    );
  }
  return (
    <div className="jp-envcapsule-body">
      <Header title={model.path} refreshing={model.refreshing} onRefresh={() => void model.refresh()} />
      {model.statusError && <ErrorBox message={model.statusError} />}
      <EnvironmentSection status={model.status} />
      <CapsuleSection status={model.status} loading={model.status === null && model.statusError === null} />
      <Actions model={model} commands={commands} />
      <JobList jobs={model.jobs} commands={commands} onCancel={id => void model.cancel(id)} />
      <ImageSection status={model.status} usage={model.usage} onStop={container => void model.stop(container)} />
      <VerifySection status={model.status} />
    </div>
  );
}

function Header(props: { title: string; refreshing?: boolean; onRefresh?: () => void }): JSX.Element {
  return (
    <header className="jp-envcapsule-header">
      <span className="jp-envcapsule-title" title={props.title}>
        {props.title}
      </span>
      {props.onRefresh && (
        <button
          className="jp-envcapsule-refresh jp-mod-styled"
          title="Compare the kernel's environment with its capsule again"
          disabled={props.refreshing}
          onClick={props.onRefresh}
        >
          {props.refreshing ? 'Checking…' : 'Refresh'}
        </button>
      )}
    </header>
  );
}

export function ErrorBox(props: { message: string; hint?: string }): JSX.Element {
  return (
    <div className="jp-envcapsule-error" role="alert">
      <span>{props.message}</span>
      {props.hint && <span className="jp-envcapsule-hint">{props.hint}</span>}
    </div>
  );
}
