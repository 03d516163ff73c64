/*
 * The first start greets the learner. VS Code opens on the Explorer, and a new learner would have
 * to find the cube icon in the activity bar by themselves; so the first time this extension runs
 * for a user (a flag in VS Code's global state), it opens the Containers Lab sidebar and the
 * walkthrough "Get Started with Containers Lab" (package.json, contributes.walkthroughs; its pages
 * are the Markdown files beside this one). Later starts leave the window as the user left it.
 *
 * Each step of the walkthrough names its command and completes on an event VS Code watches: the
 * context key containersLab.connected for "Connect", the command having run for the others.
 * VS Code starts watching when the walkthrough first opens in a window, and takes a context key
 * that is already true then as old news, never checking its step: so the first start opens the
 * walkthrough before it connects (extension.ts). "Containers Lab: Get Started" opens it again.
 */
import * as vscode from 'vscode';

/** The walkthrough's id in package.json. */
export const WALKTHROUGH_ID = 'gettingStarted';
const GREETED = 'containersLab.greeted';

/** "<publisher>.<name>#gettingStarted": how VS Code names a contributed walkthrough. */
export function walkthroughId(context: vscode.ExtensionContext): string {
  return `${context.extension.id}#${WALKTHROUGH_ID}`;
}

export function openWalkthrough(context: vscode.ExtensionContext): Thenable<unknown> {
  return vscode.commands.executeCommand('workbench.action.openWalkthrough', walkthroughId(context), false);
}

/** On the first start only: the sidebar, then the walkthrough beside it. */
export async function greetOnFirstStart(context: vscode.ExtensionContext, log: (line: string) => void): Promise<void> {
  if (context.globalState.get<boolean>(GREETED)) return;
  await context.globalState.update(GREETED, true);
  log('first start: opening the Containers Lab sidebar and the walkthrough ("Containers Lab: Get Started" opens it again)');
  await vscode.commands.executeCommand('workbench.view.extension.containersLab');
  await openWalkthrough(context);
}
