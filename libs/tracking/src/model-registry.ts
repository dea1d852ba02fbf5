// The encoder of a table cell as a registered model version. The engine logs the checkpoint as an MLflow-style
// model (`model/encoder.ckpt` + `model/MLmodel`) on the pretraining run and records on the cell's row run which
// registered model it belongs to (MODEL_TAGS): the intent works in the embedded store too. Once both runs are on a
// server, registerCellModels creates the registered model (if missing) and a version from the pretraining run's
// `model/` artifacts, and links it from the row run (`unigrad.model.version`). Done by mlflow:sync; idempotent.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readSyncState } from './delivery';
import type { MlflowClient } from './mlflow-client';
import type { RunStore } from './store';

export const MODEL_TAGS = {
  /** On a row run: the registered model its encoder is a version of. */
  registeredName: 'unigrad.model.registered_name',
  /** On a row run: the local id of the pretraining run holding the model. */
  modelRun: 'unigrad.model.run',
  /** On the pretraining run: where the model's files are among its artifacts. */
  artifactPath: 'unigrad.model.artifact_path',
  /** Set on the server's row run: `<name>/<version>` once registered. */
  version: 'unigrad.model.version',
} as const;

/** The artifact folder of the model on a pretraining run. */
export const MODEL_ARTIFACT_PATH = 'model';

export interface RegisteredVersion {
  rowRunId: string;
  name: string;
  version: string;
}

function registryPath(store: RunStore, rowId: string): string {
  return join(store.syncDir(), `${rowId}.model.json`);
}

/** Registers one model version per finished row run that asks for one and is not yet registered on this server. */
export async function registerCellModels(store: RunStore, client: MlflowClient, log?: (m: string) => void): Promise<RegisteredVersion[]> {
  const out: RegisteredVersion[] = [];
  for (const id of store.listRunIds()) {
    let row;
    try {
      row = store.readRun(id);
    } catch {
      continue;
    }
    const name = row.tags[MODEL_TAGS.registeredName];
    const modelRun = row.tags[MODEL_TAGS.modelRun];
    if (!name || !modelRun || row.status !== 'FINISHED') continue;
    const done: Record<string, string> = existsSync(registryPath(store, id)) ? JSON.parse(readFileSync(registryPath(store, id), 'utf8')) : {};
    if (done[client.trackingUri]) continue;
    const rowState = readSyncState(store, id)[client.trackingUri];
    const modelState = readSyncState(store, modelRun)[client.trackingUri];
    if (!rowState || !modelState) continue; // not delivered yet: the next sync registers it
    let artifactPath = MODEL_ARTIFACT_PATH;
    try {
      artifactPath = store.readRun(modelRun).tags[MODEL_TAGS.artifactPath] ?? MODEL_ARTIFACT_PATH;
    } catch {
      // the default
    }
    const version = await client.createModelVersion({
      name,
      source: `${modelState.artifactUri}/${artifactPath}`,
      runId: modelState.remoteRunId,
      description: `Encoder (online trunk) of ${row.runName}: load with loadTrunkFromCheckpoint from @unigrad/engine (see MLmodel).`,
      tags: [{ key: 'unigrad.cell', value: row.tags['unigrad.cell'] ?? '' }, { key: 'unigrad.seed', value: row.tags['unigrad.seed'] ?? '' }],
    });
    await client.setTag(rowState.remoteRunId, MODEL_TAGS.version, `${version.name}/${version.version}`);
    done[client.trackingUri] = version.version;
    writeFileSync(registryPath(store, id), JSON.stringify(done, null, 2));
    log?.(`[tracking] registered ${version.name} version ${version.version} (${row.runName})`);
    out.push({ rowRunId: id, ...version });
  }
  return out;
}
