/*
 * The graph's colours, from the VS Code theme.
 *
 * CSS can use var(--vscode-…) directly, but cytoscape draws on a canvas and needs concrete
 * colours, so they are read from the page's computed style at run time — and read again when
 * the user switches themes (VS Code then rewrites the variables on <html> and the class on <body>).
 */
export interface GraphColours {
  background: string;
  foreground: string;
  muted: string;
  border: string;
  focus: string;
  host: string;
  netns: string;
  container: string;
  process: string;
  bridge: string;
  veth: string;
  down: string;
  selection: string;
  font: string;
}

function variable(style: CSSStyleDeclaration, name: string, fallback: string): string {
  const value = style.getPropertyValue(name).trim();
  return value || fallback;
}

export function readColours(): GraphColours {
  const style = getComputedStyle(document.body);
  const foreground = variable(style, '--vscode-foreground', '#cccccc');
  return {
    background: variable(style, '--vscode-editor-background', '#1e1e1e'),
    foreground,
    muted: variable(style, '--vscode-descriptionForeground', foreground),
    border: variable(style, '--vscode-panel-border', '#80808059'),
    focus: variable(style, '--vscode-focusBorder', '#007fd4'),
    host: variable(style, '--vscode-charts-blue', '#3794ff'),
    netns: variable(style, '--vscode-charts-purple', '#b180d7'),
    container: variable(style, '--vscode-charts-green', '#89d185'),
    process: variable(style, '--vscode-charts-yellow', '#cca700'),
    bridge: variable(style, '--vscode-charts-orange', '#d18616'),
    veth: variable(style, '--vscode-charts-blue', '#3794ff'),
    down: variable(style, '--vscode-charts-red', '#f14c4c'),
    selection: variable(style, '--vscode-editor-selectionBackground', '#264f78'),
    font: variable(style, '--vscode-font-family', 'sans-serif'),
  };
}

/** Calls `onChange` whenever the theme (and so the variables) changes. */
export function watchTheme(onChange: () => void): void {
  const observer = new MutationObserver(() => onChange());
  observer.observe(document.documentElement, { attributes: true, attributeFilter: ['style', 'class'] });
  observer.observe(document.body, { attributes: true, attributeFilter: ['class'] });
}
