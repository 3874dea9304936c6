/** `convlab models`, `datasets`, `report` and `compare`: listings and reports. */
import type { Command } from 'commander';
import { listDatasets } from '../../data/index.js';
import { listModels } from '../../models/index.js';
import { compareRuns, writeReport } from '../../report/index.js';
import { compareRunDirs } from '../../study/compare.js';
import { writeFileAtomic } from '../../util/atomic-file.js';
import { parseCompareFlags, parseDatasetsFlags, type RawFlags } from '../flags.js';

export function registerInfo(program: Command): void {
  program.command('models')
    .description('list the available models')
    .option('--json', 'print as JSON')
    .action((raw: RawFlags) => {
      const models = listModels().map((m) => ({ name: m.name, input: m.defaultInput.join('×'), description: m.description }));
      if (raw['json'] === true) { process.stdout.write(JSON.stringify(models, null, 2) + '\n'); return; }
      const w = Math.max(...models.map((m) => m.name.length));
      for (const m of models) console.log(`${m.name.padEnd(w)}  ${m.input.padEnd(9)}  ${m.description}`);
    });

  program.command('datasets')
    .description('list datasets and whether they are available locally')
    .option('--data-dir <dir>', 'also look in this folder')
    .option('--json', 'print as JSON')
    .action((raw: RawFlags) => {
      const f = parseDatasetsFlags(raw);
      const list = listDatasets({ dataDir: f.dataDir });
      if (f.json) { process.stdout.write(JSON.stringify(list, null, 2) + '\n'); return; }
      const w = Math.max(...list.map((d) => d.name.length));
      for (const d of list) {
        const where = d.available.train && d.available.test ? `${d.location} (${d.source})`
          : d.missing.length > 0 ? `incomplete in ${d.location}: ${d.missing.join('; ')}`
            : d.downloadable ? 'not found locally; downloads on first use' : 'not found';
        console.log(`${d.name.padEnd(w)}  ${d.shape.join('×').padEnd(7)}  ${String(d.sizes.train).padStart(6)} train / ${String(d.sizes.test).padStart(5)} test  ${where}`);
      }
    });

  program.command('report')
    .description('(re)write the plots and report.html of a run directory')
    .argument('<run-dir>')
    .option('--json', 'print the written paths as JSON')
    .action(async (dir: string, raw: RawFlags) => {
      const paths = await writeReport(dir);
      console.log(raw['json'] === true ? JSON.stringify(paths, null, 2) : paths.html);
    });

  program.command('compare')
    .description('compare run directories: params, accuracy, macro recall, speed')
    .argument('<run-dirs...>')
    .option('-o, --out <file>', 'write the comparison HTML here (default comparison.html)')
    .option('--json', 'print the rows as JSON')
    .option('--no-latency', 'skip measuring each model\'s inference latency on this machine')
    .action(async (dirs: string[], raw: RawFlags) => {
      const f = parseCompareFlags(raw);
      // Each bad metrics line is reported once, though both the page and the table read the runs.
      const warned = new Set<string>();
      const onWarning = (line: string): void => { if (!warned.has(line)) { warned.add(line); process.stderr.write(line + '\n'); } };
      const { rows, html } = await compareRuns(dirs, onWarning);
      const table = await compareRunDirs(dirs, { latencyRepeats: raw['latency'] === false ? 0 : 5, onWarning });
      writeFileAtomic(f.out, html);
      if (f.json) process.stdout.write(JSON.stringify(rows.map((r, i) => ({ ...r, ...table.json[i] })), null, 2) + '\n');
      else console.log(`${table.table}\n${f.out}`);
    });
}
