import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import * as grpc from '@grpc/grpc-js';
import { ResourceProviderClient } from '@pulumi/pulumi/proto/provider_grpc_pb';
import * as proto from '@pulumi/pulumi/proto/provider_pb';
import { Struct } from 'google-protobuf/google/protobuf/struct_pb';
import { repoRoot } from '../../support/exportctl-cli';

type Properties = Record<string, unknown>;

/** The engine's side of the ResourceProvider protocol, against a real dynamic-provider host. */
export interface ProviderHost {
  configure(config: Record<string, string>): Promise<void>;
  check(
    urn: string,
    olds: Properties,
    news: Properties,
  ): Promise<{ inputs: Properties; failures: Failure[] }>;
  diff(
    id: string,
    urn: string,
    olds: Properties,
    news: Properties,
  ): Promise<{ changes: 'unknown' | 'none' | 'some'; replaces: string[]; deleteBeforeReplace: boolean }>;
  create(urn: string, properties: Properties): Promise<{ id: string; properties: Properties }>;
  read(id: string, urn: string, properties: Properties): Promise<{ id: string; properties: Properties }>;
  update(id: string, urn: string, olds: Properties, news: Properties): Promise<{ properties: Properties }>;
  delete(id: string, urn: string, properties: Properties): Promise<void>;
  /** Everything the host wrote to stderr so far. */
  stderr(): string;
  close(): Promise<void>;
}

export interface Failure {
  readonly property: string;
  readonly reason: string;
}

/**
 * Starts `@pulumi/pulumi/cmd/dynamic-provider` as the engine starts it (one argument, the engine's
 * address, which it does not use here), reads its port from its first line of output, and connects
 * over gRPC on 127.0.0.1. `cwd` is where it resolves the serialized providers' require()s: the
 * project folder; `env` is its whole environment (the secrets references name come from it).
 */
export async function startProviderHost(options: {
  cwd?: string;
  env: NodeJS.ProcessEnv;
}): Promise<ProviderHost> {
  const child: ChildProcess = spawn(
    process.execPath,
    [require.resolve('@pulumi/pulumi/cmd/dynamic-provider'), '127.0.0.1:0'],
    { cwd: options.cwd ?? repoRoot, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const port = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    lines.once('line', (line) => resolve(line.trim()));
    child.once('exit', (code) => reject(new Error(`the provider host exited (${code}): ${stderr}`)));
  });
  if (!/^\d+$/.test(port)) throw new Error(`the provider host printed ${JSON.stringify(port)}, not a port`);
  const client = new ResourceProviderClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());

  const call = <Request, Response>(
    method: (
      request: Request,
      callback: (error: grpc.ServiceError | null, response: Response) => void,
    ) => unknown,
    request: Request,
  ) =>
    new Promise<Response>((resolve, reject) => {
      method.call(client, request, (error, response) => (error ? reject(error) : resolve(response)));
    });
  const struct = (value: Properties) =>
    Struct.fromJavaScript(value as Parameters<typeof Struct.fromJavaScript>[0]);
  const plain = (value: Struct | undefined) => (value?.toJavaScript() ?? {}) as Properties;
  const typeOf = (urn: string) => urn.split('::')[2] ?? '';

  return {
    async configure(config) {
      const request = new proto.ConfigureRequest();
      request.setArgs(struct(config));
      request.setAcceptsecrets(true);
      await call(client.configure, request);
    },
    async check(urn, olds, news) {
      const request = new proto.CheckRequest();
      request.setUrn(urn);
      request.setType(typeOf(urn));
      request.setOlds(struct(olds));
      request.setNews(struct(news));
      const response = await call<proto.CheckRequest, proto.CheckResponse>(client.check, request);
      return {
        inputs: plain(response.getInputs()),
        failures: response.getFailuresList().map((failure) => ({
          property: failure.getProperty(),
          reason: failure.getReason(),
        })),
      };
    },
    async diff(id, urn, olds, news) {
      const request = new proto.DiffRequest();
      request.setId(id);
      request.setUrn(urn);
      request.setOlds(struct(olds));
      request.setNews(struct(news));
      const response = await call<proto.DiffRequest, proto.DiffResponse>(client.diff, request);
      const changes = response.getChanges();
      return {
        changes:
          changes === proto.DiffResponse.DiffChanges.DIFF_SOME
            ? 'some'
            : changes === proto.DiffResponse.DiffChanges.DIFF_NONE
              ? 'none'
              : 'unknown',
        replaces: response.getReplacesList(),
        deleteBeforeReplace: response.getDeletebeforereplace(),
      };
    },
    async create(urn, properties) {
      const request = new proto.CreateRequest();
      request.setUrn(urn);
      request.setProperties(struct(properties));
      const response = await call<proto.CreateRequest, proto.CreateResponse>(client.create, request);
      return { id: response.getId(), properties: plain(response.getProperties()) };
    },
    async read(id, urn, properties) {
      const request = new proto.ReadRequest();
      request.setId(id);
      request.setUrn(urn);
      request.setProperties(struct(properties));
      const response = await call<proto.ReadRequest, proto.ReadResponse>(client.read, request);
      return { id: response.getId(), properties: plain(response.getProperties()) };
    },
    async update(id, urn, olds, news) {
      const request = new proto.UpdateRequest();
      request.setId(id);
      request.setUrn(urn);
      request.setOlds(struct(olds));
      request.setNews(struct(news));
      const response = await call<proto.UpdateRequest, proto.UpdateResponse>(client.update, request);
      return { properties: plain(response.getProperties()) };
    },
    async delete(id, urn, properties) {
      const request = new proto.DeleteRequest();
      request.setId(id);
      request.setUrn(urn);
      request.setProperties(struct(properties));
      await call(client.delete, request);
    },
    stderr: () => stderr,
    async close() {
      client.close();
      if (child.exitCode !== null) return;
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    },
  };
}
