import { LabIcon } from '@jupyterlab/ui-components';

/** A capsule (pill) holding a package box: the environment, sealed. */
const capsuleSvg = `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">
  <g class="jp-icon3" fill="#616161">
    <path d="M8.5 2.5a6 6 0 0 0-6 6v7a6 6 0 0 0 6 6h7a6 6 0 0 0 6-6v-7a6 6 0 0 0-6-6zm0 2h7a4 4 0 0 1 4 4v7a4 4 0 0 1-4 4h-7a4 4 0 0 1-4-4v-7a4 4 0 0 1 4-4z"/>
    <path d="M12 6.8l4.6 2.4v5.6L12 17.2l-4.6-2.4V9.2zm0 2.1l-2.4 1.2 2.4 1.3 2.4-1.3zm-3 2.6v2.4l2.2 1.2v-2.4zm6 0l-2.2 1.2v2.4l2.2-1.2z"/>
  </g>
</svg>`;

export const capsuleIcon = new LabIcon({
  name: 'envcapsule:capsule',
  svgstr: capsuleSvg
});
