import { spawn } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { EngineService } from '@pulumi/pulumi/proto/engine_grpc_pb';
import * as engineProto from '@pulumi/pulumi/proto/engine_pb';
import { ResourceMonitorService } from '@pulumi/pulumi/proto/resource_grpc_pb';
import * as resourceProto from '@pulumi/pulumi/proto/resource_pb';
import { Empty } from 'google-protobuf/google/protobuf/empty_pb';
import { Struct } from 'google-protobuf/google/protobuf/struct_pb';
import { parse } from 'yaml';
import { repoRoot } from '../../support/exportctl-cli';

/** One RegisterResource call, as the engine received it. */
export interface ProgramRegistration {
  readonly type: string;
  readonly name: string;
  readonly urn: string;
  readonly custom: boolean;
  readonly inputs: Record<string, unknown>;
  readonly dependencies: string[];
  /**
   * Per input property, the URNs its value came from (another resource's output): what the engine
   * keeps as the resource's `propertyDependencies` and reads to find the dependents to replace.
   */
  readonly propertyDependencies: Record<string, string[]>;
  readonly additionalSecretOutputs: string[];
}

export interface ProgramRun {
  readonly code: number | null;
  /** The program's stdout and stderr. */
  readonly output: string;
  readonly registrations: ProgramRegistration[];
  /** Engine log messages at warning severity or above. */
  readonly warnings: string[];
  /** The stack's outputs (RegisterResourceOutputs of the root resource). */
  readonly stackOutputs: Record<string, unknown>;
}

type Handler<Request, Response> = (
  call: { request: Request },
  callback: (error: grpc.ServiceError | null, response: Response) => void,
) => void;

/**
 * Where Pulumi runs the program of the Pulumi.yaml at the repository root: its `main` as the CLI
 * reads it (a folder: run there with entry `.`; a file: run in its folder with its name as entry).
 */
export function programLocation(): { folder: string; entry: string } {
  const project = parse(readFileSync(join(repoRoot, 'Pulumi.yaml'), 'utf8')) as { main?: string };
  const main = join(repoRoot, project.main ?? '.');
  return statSync(main).isDirectory()
    ? { folder: main, entry: '.' }
    : { folder: dirname(main), entry: basename(main) };
}

/**
 * Runs the Pulumi program the way the Node.js language host does (`@pulumi/pulumi/cmd/run` with
 * --monitor, --engine, --pwd and the entry from Pulumi.yaml's `main`; TypeScript through ts-node),
 * against a test engine on 127.0.0.1 that answers every resource registration with its own inputs.
 * No Pulumi CLI and no provider call: this shows what `pulumi preview` would be asked to register.
 */
export async function runPulumiProgram(options: {
  readonly config: Record<string, string>;
  readonly secretKeys?: readonly string[];
  readonly stack?: string;
  /** `--organization`, as the CLI passes the stack's organization; none: the runtime has none. */
  readonly organization?: string;
}): Promise<ProgramRun> {
  const stack = options.stack ?? 'dev';
  const registrations: ProgramRegistration[] = [];
  const warnings: string[] = [];
  let stackOutputs: Record<string, unknown> = {};
  let rootUrn = '';

  const supportsFeature: Handler<
    resourceProto.SupportsFeatureRequest,
    resourceProto.SupportsFeatureResponse
  > = (call, callback) => {
    // Secrets only: enough for the program, and inputs stay plain values otherwise.
    callback(
      null,
      new resourceProto.SupportsFeatureResponse().setHassupport(call.request.getId() === 'secrets'),
    );
  };
  const registerResource: Handler<
    resourceProto.RegisterResourceRequest,
    resourceProto.RegisterResourceResponse
  > = (call, callback) => {
    const request = call.request;
    const urn = `urn:pulumi:${stack}::exportctl::${request.getType()}::${request.getName()}`;
    registrations.push({
      type: request.getType(),
      name: request.getName(),
      urn,
      custom: request.getCustom(),
      inputs: (request.getObject()?.toJavaScript() ?? {}) as Record<string, unknown>,
      dependencies: request.getDependenciesList(),
      propertyDependencies: propertyDependenciesOf(request),
      additionalSecretOutputs: request.getAdditionalsecretoutputsList(),
    });
    const response = new resourceProto.RegisterResourceResponse()
      .setUrn(urn)
      .setId(request.getCustom() ? `${request.getName()}-id` : '')
      .setObject(request.getObject() ?? new Struct());
    callback(null, response);
  };
  const registerResourceOutputs: Handler<resourceProto.RegisterResourceOutputsRequest, Empty> = (
    call,
    callback,
  ) => {
    if (call.request.getUrn() === rootUrn)
      stackOutputs = (call.request.getOutputs()?.toJavaScript() ?? {}) as Record<string, unknown>;
    callback(null, new Empty());
  };
  const log: Handler<engineProto.LogRequest, Empty> = (call, callback) => {
    if (call.request.getSeverity() >= engineProto.LogSeverity.WARNING)
      warnings.push(call.request.getMessage());
    callback(null, new Empty());
  };

  const server = new grpc.Server();
  server.addService(ResourceMonitorService, {
    supportsFeature,
    registerResource,
    registerResourceOutputs,
    signalAndWaitForShutdown: ((_call, callback) => callback(null, new Empty())) satisfies Handler<
      Empty,
      Empty
    >,
  });
  server.addService(EngineService, {
    log,
    getRootResource: ((_call, callback) =>
      callback(null, new engineProto.GetRootResourceResponse().setUrn(rootUrn))) satisfies Handler<
      engineProto.GetRootResourceRequest,
      engineProto.GetRootResourceResponse
    >,
    setRootResource: ((call, callback) => {
      rootUrn = call.request.getUrn();
      callback(null, new engineProto.SetRootResourceResponse());
    }) satisfies Handler<engineProto.SetRootResourceRequest, engineProto.SetRootResourceResponse>,
  });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (error, bound) =>
      error ? reject(error) : resolve(bound),
    ),
  );

  try {
    const { folder: programFolder, entry } = programLocation();
    const child = spawn(
      process.execPath,
      [
        require.resolve('@pulumi/pulumi/cmd/run'),
        `--monitor=127.0.0.1:${port}`,
        `--engine=127.0.0.1:${port}`,
        '--project=exportctl',
        `--stack=${stack}`,
        ...(options.organization === undefined ? [] : [`--organization=${options.organization}`]),
        `--root-directory=${repoRoot}`,
        `--pwd=${programFolder}`,
        entry,
      ],
      {
        cwd: programFolder,
        env: {
          PATH: process.env.PATH,
          HOME: repoRoot,
          GIT_CONFIG_GLOBAL: '/dev/null',
          GIT_CONFIG_NOSYSTEM: '1',
          PULUMI_NODEJS_TYPESCRIPT: 'true',
          PULUMI_CONFIG: JSON.stringify(options.config),
          PULUMI_CONFIG_SECRET_KEYS: JSON.stringify(options.secretKeys ?? []),
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let output = '';
    child.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk;
    });
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      output += chunk;
    });
    const code = await new Promise<number | null>((resolve, reject) => {
      const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
      child.on('error', reject);
      child.on('close', (exitCode) => {
        clearTimeout(timer);
        resolve(exitCode);
      });
    });
    return { code, output, registrations, warnings, stackOutputs };
  } finally {
    server.forceShutdown();
  }
}

function propertyDependenciesOf(request: resourceProto.RegisterResourceRequest): Record<string, string[]> {
  const dependencies: Record<string, string[]> = {};
  request.getPropertydependenciesMap().forEach((urns, property) => {
    dependencies[property] = urns.getUrnsList();
  });
  return dependencies;
}
