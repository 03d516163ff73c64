/*
 * The actions a probe or a lifecycle hook performs, as the kubelet performs them:
 *
 *   exec       a command inside the container (its namespaces and cgroup); exit 0 is success
 *   httpGet    an HTTP GET to the pod's IP (or `host`) and port; a status from 200 to 399 is success
 *   tcpSocket  a TCP connection to the port; connecting is success
 *   sleep      (hooks only) wait that many seconds
 *
 * Each has a deadline (the probe's timeoutSeconds); a named port is looked up in the container's ports.
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:net';
import type { ContainerRuntime } from '../../runtime/api';
import type { Container } from '../manifest/types';

export interface Handler {
  exec?: { command?: string[] };
  httpGet?: { host?: string; port: string | number; path?: string; scheme?: 'HTTP' | 'HTTPS'; httpHeaders?: { name: string; value: string }[] };
  tcpSocket?: { host?: string; port: string | number };
  sleep?: { seconds: number };
}

export interface HandlerResult {
  ok: boolean;
  /** What failed, as the Unhealthy event words it. */
  message: string;
}

export interface HandlerTarget {
  runtime: ContainerRuntime;
  containerId: string;
  container: Container;
  /** Where httpGet and tcpSocket connect when the handler names no host. */
  host: string | null;
}

function resolvePort(port: string | number, container: Container): number | null {
  if (typeof port === 'number') return port;
  if (/^\d+$/.test(port)) return Number(port);
  return container.ports?.find((entry) => entry.name === port)?.containerPort ?? null;
}

export async function runHandler(handler: Handler, target: HandlerTarget, timeoutMs: number): Promise<HandlerResult> {
  if (handler.exec) return runExec(handler.exec.command ?? [], target, timeoutMs);
  if (handler.sleep) {
    await new Promise((resolve) => setTimeout(resolve, Math.min(handler.sleep!.seconds * 1000, timeoutMs)));
    return { ok: true, message: '' };
  }
  const network = handler.httpGet ?? handler.tcpSocket;
  if (!network) return { ok: false, message: 'no handler' };
  const port = resolvePort(network.port, target.container);
  const host = network.host ?? target.host;
  if (port === null) return { ok: false, message: `port ${JSON.stringify(network.port)} is not a port of the container` };
  if (!host) return { ok: false, message: 'the pod has no IP address' };
  return handler.httpGet ? runHttpGet(handler.httpGet, host, port, timeoutMs) : runTcp(host, port, timeoutMs);
}

function runExec(command: string[], target: HandlerTarget, timeoutMs: number): Promise<HandlerResult> {
  return new Promise((resolve) => {
    let session;
    try {
      session = target.runtime.exec({ id: target.containerId, args: command });
    } catch (error) {
      resolve({ ok: false, message: (error as Error).message });
      return;
    }
    const output: Buffer[] = [];
    let size = 0;
    session.onOutput((_stream, data) => {
      if (size < 1024) output.push(data);
      size += data.length;
    });
    const timer = setTimeout(() => {
      session.kill('SIGKILL');
      resolve({ ok: false, message: `command timed out after ${timeoutMs / 1000}s` });
    }, timeoutMs);
    session.onExit((code) => {
      clearTimeout(timer);
      const text = Buffer.concat(output).toString('utf8').slice(0, 1024).trim();
      resolve(code === 0 ? { ok: true, message: text } : { ok: false, message: text || `command ${JSON.stringify(command.join(' ').slice(0, 60))} exited with ${code}` });
    });
    session.close();
  });
}

function runHttpGet(get: NonNullable<Handler['httpGet']>, host: string, port: number, timeoutMs: number): Promise<HandlerResult> {
  return new Promise((resolve) => {
    const path = get.path ?? '/';
    const send = get.scheme === 'HTTPS' ? httpsRequest : httpRequest;
    const headers: Record<string, string> = { 'User-Agent': 'kube-probe/1.34', Accept: '*/*' };
    for (const header of get.httpHeaders ?? []) headers[header.name] = header.value;
    const req = send({ host, port, path, method: 'GET', headers, timeout: timeoutMs, rejectUnauthorized: false }, (response) => {
      response.resume();
      const status = response.statusCode ?? 0;
      resolve(status >= 200 && status < 400 ? { ok: true, message: '' } : { ok: false, message: `HTTP probe failed with statuscode: ${status}` });
    });
    req.on('timeout', () => {
      req.destroy();
      resolve({ ok: false, message: `Get "http://${host}:${port}${path}": context deadline exceeded (Client.Timeout exceeded while awaiting headers)` });
    });
    req.on('error', (error) => resolve({ ok: false, message: `Get "http://${host}:${port}${path}": ${error.message}` }));
    req.end();
  });
}

function runTcp(host: string, port: number, timeoutMs: number): Promise<HandlerResult> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: timeoutMs });
    socket.once('connect', () => {
      socket.destroy();
      resolve({ ok: true, message: '' });
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve({ ok: false, message: `dial tcp ${host}:${port}: i/o timeout` });
    });
    socket.once('error', (error) => resolve({ ok: false, message: `dial tcp ${host}:${port}: ${error.message}` }));
  });
}
