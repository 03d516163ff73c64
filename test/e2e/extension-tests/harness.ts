/*
 * extensionTestsPath module for the harness fixture (test/e2e/fixtures/harness-extension): proves
 * that tests run inside code-server's extension host with the `vscode` API and the extension loaded.
 */
import * as vscode from 'vscode';
import { assert, assertEqual, runAll, test } from './runner';

test('the fixture extension is installed and activates', async () => {
  const extension = vscode.extensions.getExtension<{ itemCount(): number }>('containers-lab-tests.harness-lab');
  assert(extension, 'containers-lab-tests.harness-lab is not installed');
  const api = await extension.activate();
  assertEqual(api.itemCount(), 0, 'items before any command');
});

test('a palette command runs through executeCommand and changes provider state', async () => {
  const label = await vscode.commands.executeCommand<string>('harnessLab.addItem');
  assertEqual(label, 'item-1', 'label returned by harnessLab.addItem');
  const api = vscode.extensions.getExtension<{ itemCount(): number }>('containers-lab-tests.harness-lab')!.exports;
  assertEqual(api.itemCount(), 1, 'items after one command');
});

test('the commands are contributed', async () => {
  const commands = await vscode.commands.getCommands(true);
  for (const id of ['harnessLab.addItem', 'harnessLab.openTerminal']) assert(commands.includes(id), `${id} is not registered`);
});

export function run(): Promise<void> {
  return runAll();
}
