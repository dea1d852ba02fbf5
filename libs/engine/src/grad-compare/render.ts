// Hand-written SVG (heatmaps of the cosine matrices, a line chart over epochs) and the generated Markdown section.
// Pure string builders over GradCompareRecord.
import type { TargetMode } from '@unigrad/losses';
import { REFERENCE_ID } from './gradients';
import type { GradCompareRecord } from './measure';
import type { ContextReport, EntryReport } from './report';

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const f2 = (v: number | null | undefined) => (v === null || v === undefined || !Number.isFinite(v) ? 'n/a' : v.toFixed(2));
const f3 = (v: number | null | undefined) => (v === null || v === undefined || !Number.isFinite(v) ? 'n/a' : v.toFixed(3));

/** Diverging colour for a cosine: −1 blue, 0 white, +1 red; grey for n/a. */
export function cosineColor(v: number | null): string {
  if (v === null || !Number.isFinite(v)) return '#d9d9d9';
  const c = Math.max(-1, Math.min(1, v));
  const mix = (a: number, b: number, t: number) => Math.round(a + (b - a) * t);
  const [r, g, b] = c >= 0 ? [mix(255, 178, c), mix(255, 24, c), mix(255, 43, c)] : [mix(255, 33, -c), mix(255, 102, -c), mix(255, 172, -c)];
  return `rgb(${r},${g},${b})`;
}

const CONTEXT_TITLE: Record<TargetMode, string> = { mm: 'momentum-encoder targets (mm)', no_mm: 'stop-gradient targets (no mm)' };

function heatmapPanel(ctx: ContextReport, which: 'full' | 'negative', x0: number, y0: number, cell: number, labelWidth: number): string {
  const labels = ctx.entries.map((e) => e.label);
  const matrix = ctx.cosine[which];
  const out: string[] = [];
  const title = `${which === 'full' ? 'full gradients' : 'negative parts'}: ${CONTEXT_TITLE[ctx.target]}`;
  out.push(`<text x="${x0}" y="${y0 - labelWidth - 10}" font-size="14" font-weight="bold">${esc(title)}</text>`);
  const gx = x0 + labelWidth;
  const gy = y0;
  labels.forEach((label, i) => {
    out.push(`<text x="${gx - 6}" y="${gy + i * cell + cell / 2 + 4}" font-size="11" text-anchor="end">${esc(label)}</text>`);
    const tx = gx + i * cell + cell / 2 + 4;
    out.push(`<text x="${tx}" y="${gy - 6}" font-size="11" transform="rotate(-60 ${tx} ${gy - 6})">${esc(label)}</text>`);
  });
  // Attributes shared by every cell live on the groups (keeps the file small).
  const rects: string[] = [];
  const texts: string[] = [];
  matrix.forEach((row, i) =>
    row.forEach((v, j) => {
      const x = gx + j * cell;
      const y = gy + i * cell;
      rects.push(`<rect x="${x}" y="${y}" width="${cell}" height="${cell}" fill="${cosineColor(v)}"><title>${esc(`${labels[i]} vs ${labels[j]}: ${f3(v)}`)}</title></rect>`);
      const dark = v !== null && Math.abs(v) > 0.6;
      texts.push(`<text x="${x + cell / 2}" y="${y + cell / 2 + 4}"${dark ? ' fill="#fff"' : ''}>${v === null ? 'n/a' : v.toFixed(2)}</text>`);
    }),
  );
  out.push('<g stroke="#fff" stroke-width="1">', ...rects, '</g>');
  out.push('<g font-size="10" text-anchor="middle" fill="#222">', ...texts, '</g>');
  return out.join('\n');
}

/** One SVG per checkpoint: the per-sample mean cosine matrices (full gradients and negative parts) of both contexts. */
export function heatmapSvg(record: GradCompareRecord): string {
  const contexts = record.contexts.filter((c) => c.entries.length > 0);
  const size = Math.max(1, ...contexts.map((c) => c.entries.length));
  const cell = 36;
  const labelWidth = 130;
  const panel = labelWidth + size * cell + 40;
  const top = 90;
  const width = 2 * panel + 20;
  const height = top + contexts.length * (panel + 20) + 50;
  const parts: string[] = [];
  contexts.forEach((ctx, r) => {
    (['full', 'negative'] as const).forEach((which, c) => {
      const x0 = 10 + c * panel;
      const y0 = top + r * (panel + 20) + labelWidth;
      parts.push(ctx.available ? heatmapPanel(ctx, which, x0, y0, cell, labelWidth) : `<text x="${x0}" y="${y0}" font-size="14">${esc(`${CONTEXT_TITLE[ctx.target]}: ${ctx.reason ?? 'n/a'}`)}</text>`);
    });
  });
  const ck = record.checkpoint;
  const title = `Gradient cosine similarity (per sample, mean over ${record.contexts[0]?.samples ?? 0} samples): ${ck.method} ${ck.form}${ck.form === 'grad' ? ` ${ck.target}` : ''}, ${ck.preset}/${ck.dataset}, step ${ck.step}`;
  const legend = [-1, -0.5, 0, 0.5, 1].map((v, i) => `<rect x="${10 + i * 50}" y="${height - 34}" width="50" height="14" fill="${cosineColor(v)}" stroke="#999" stroke-width="0.5"/><text x="${35 + i * 50}" y="${height - 8}" font-size="11" text-anchor="middle">${v}</text>`);
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="10" y="24" font-size="16" font-weight="bold">${esc(title)}</text>`,
    `<text x="10" y="44" font-size="12">${esc('tangent gradients w.r.t. the online embeddings (see the JSON "quantity"); negative part = all but the component along the other view\'s target; grey = n/a')}</text>`,
    ...parts,
    ...legend,
    `<text x="270" y="${height - 22}" font-size="11">cosine</text>`,
    '</svg>',
    '',
  ].join('\n');
}

const PALETTE = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf', '#393b79', '#ad494a', '#637939', '#843c39'];

/** Line chart of each entry's cosine to UniGrad over a run's checkpoints (x: epoch), one panel per context. */
export function lineChartSvg(records: readonly GradCompareRecord[]): string {
  const sorted = [...records].sort((a, b) => a.checkpoint.step - b.checkpoint.step);
  const targets = [...new Set(sorted.flatMap((r) => r.contexts.map((c) => c.target)))];
  const ids = [...new Set(sorted.flatMap((r) => r.contexts.flatMap((c) => c.entries.map((e) => e.id))))].filter((id) => id !== REFERENCE_ID);
  const labelOf = new Map(sorted.flatMap((r) => r.contexts.flatMap((c) => c.entries.map((e) => [e.id, e.label] as const))));
  const methodOf = new Map(sorted.flatMap((r) => r.contexts.flatMap((c) => c.entries.map((e) => [e.id, e.method] as const))));
  const methods = [...new Set(ids.map((id) => methodOf.get(id)))];
  // One colour per method; the variant is the dash: solid = gradient form, dashed = original, dotted = original with W_p.
  const colorOf = (id: string) => PALETTE[methods.indexOf(methodOf.get(id)) % PALETTE.length];
  const dashOf = (id: string) => (id.endsWith(':grad') ? '' : id.endsWith(':original-wp') ? ' stroke-dasharray="2,3"' : ' stroke-dasharray="6,3"');
  const plotted = new Set<string>();
  const W = 560;
  const H = 320;
  const left = 60;
  const top = 66;
  const legendWidth = 190;
  const width = targets.length * (left + W + 20) + legendWidth;
  const height = top + Math.max(H + 70, ids.length * 18 + 20);
  const xs = sorted.map((r) => r.checkpoint.epoch);
  const xMin = Math.min(...xs);
  const xMax = Math.max(...xs);
  const values = sorted.flatMap((r) => r.contexts.flatMap((c) => c.entries.map((e) => e.cosineToUniGrad))).filter((v): v is number => v !== null);
  const yMin = Math.min(0, Math.floor(Math.min(...values, 1) * 10) / 10);
  const yMax = 1;
  const sx = (x: number) => (xMax === xMin ? W / 2 : ((x - xMin) / (xMax - xMin)) * W);
  const sy = (y: number) => H - ((y - yMin) / (yMax - yMin)) * H;
  const parts: string[] = [];
  targets.forEach((target, p) => {
    const ox = p * (left + W + 20) + left;
    parts.push(`<g transform="translate(${ox},${top})">`);
    parts.push(`<text x="0" y="-14" font-size="14" font-weight="bold">${esc(`cosine to UniGrad's gradient: ${CONTEXT_TITLE[target]}`)}</text>`);
    parts.push(`<rect x="0" y="0" width="${W}" height="${H}" fill="none" stroke="#888"/>`);
    for (let y = Math.ceil(yMin * 5) / 5; y <= yMax + 1e-9; y += 0.2) {
      parts.push(`<line x1="0" x2="${W}" y1="${sy(y)}" y2="${sy(y)}" stroke="#eee"/><text x="-6" y="${sy(y) + 4}" font-size="11" text-anchor="end">${y.toFixed(1)}</text>`);
    }
    for (const x of [...new Set(xs)]) parts.push(`<text x="${sx(x)}" y="${H + 16}" font-size="11" text-anchor="middle">${x}</text>`);
    parts.push(`<text x="${W / 2}" y="${H + 34}" font-size="12" text-anchor="middle">epoch (checkpoint)</text>`);
    ids.forEach((id) => {
      const points = sorted
        .map((r) => {
          const e = r.contexts.find((c) => c.target === target)?.entries.find((x) => x.id === id);
          return e && e.cosineToUniGrad !== null ? [sx(r.checkpoint.epoch), sy(e.cosineToUniGrad)] : null;
        })
        .filter((q): q is number[] => q !== null);
      if (!points.length) return;
      plotted.add(id);
      const color = colorOf(id);
      parts.push(`<polyline fill="none" stroke="${color}" stroke-width="2"${dashOf(id)} points="${points.map((q) => q.map((v) => v.toFixed(1)).join(',')).join(' ')}"><title>${esc(labelOf.get(id) ?? id)}</title></polyline>`);
      for (const [x, y] of points) parts.push(`<circle cx="${x.toFixed(1)}" cy="${y.toFixed(1)}" r="3" fill="${color}"/>`);
    });
    parts.push('</g>');
  });
  const lx = targets.length * (left + W + 20);
  ids.filter((id) => plotted.has(id)).forEach((id, k) => {
    const y = top + k * 18;
    parts.push(`<line x1="${lx}" x2="${lx + 24}" y1="${y}" y2="${y}" stroke="${colorOf(id)}" stroke-width="2"${dashOf(id)}/><text x="${lx + 30}" y="${y + 4}" font-size="11">${esc(labelOf.get(id) ?? id)}</text>`);
  });
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="10" y="22" font-size="15" font-weight="bold">${esc(`Per-sample cosine to UniGrad over training (${sorted.length} checkpoints; solid = gradient forms, dashed = original losses, dotted = original with the W_p predictor)`)}</text>`,
    ...parts,
    '</svg>',
    '',
  ].join('\n');
}

function entry(ctx: ContextReport | undefined, id: string): EntryReport | undefined {
  return ctx?.entries.find((e) => e.id === id);
}

function pairCosine(ctx: ContextReport | undefined, a: string, b: string, which: 'full' | 'negative' = 'full'): number | null {
  if (!ctx) return null;
  const i = ctx.cosine.ids.indexOf(a);
  const j = ctx.cosine.ids.indexOf(b);
  return i < 0 || j < 0 ? null : ctx.cosine[which][i][j];
}

function range(entries: EntryReport[], pick: (e: EntryReport) => number | null): { min?: EntryReport; max?: EntryReport } {
  const defined = entries.filter((e) => pick(e) !== null);
  if (!defined.length) return {};
  const by = [...defined].sort((a, b) => (pick(a) as number) - (pick(b) as number));
  return { min: by[0], max: by[by.length - 1] };
}

function contextTable(ctx: ContextReport): string[] {
  const rows = [
    '| entry | cos to UniGrad | cos of negative parts | ‖positive‖ | ‖negative‖ | effective λ / UniGrad\'s | R² of λ·F·z fit | radial share dropped |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
  ];
  for (const e of ctx.entries) {
    if (!e.available) {
      rows.push(`| ${e.label} | ${esc(e.unavailable ?? 'n/a')} | | | | | | |`);
      continue;
    }
    rows.push(`| ${e.label} | ${f3(e.cosineToUniGrad)} | ${f3(e.negativeCosineToUniGrad)} | ${f3(e.norms?.positive)} | ${f3(e.norms?.negative)} | ${f2(e.lambdaRelative)} | ${f2(e.lambdaR2)} | ${f2(e.radialFraction)} |`);
  }
  return rows;
}

function findings(record: GradCompareRecord): string[] {
  const out: string[] = [];
  const mm = record.contexts.find((c) => c.target === 'mm' && c.available);
  const nomm = record.contexts.find((c) => c.target === 'no_mm' && c.available);
  for (const ctx of [mm, nomm]) {
    if (!ctx) continue;
    const tag = ctx.target === 'mm' ? 'with momentum-encoder targets' : 'with stop-gradient targets';
    const grads = ctx.entries.filter((e) => e.variant === 'grad' && e.id !== REFERENCE_ID && e.available);
    const full = range(grads, (e) => e.cosineToUniGrad);
    const neg = range(grads, (e) => e.negativeCosineToUniGrad);
    if (full.min && full.max && neg.min && neg.max) {
      out.push(
        `- **Gradient forms vs UniGrad, ${tag}:** the mean per-sample cosine of the full gradients ranges from ${f3(full.min.cosineToUniGrad)} (${full.min.label}) ` +
          `to ${f3(full.max.cosineToUniGrad)} (${full.max.label}); of the negative parts alone from ${f3(neg.min.negativeCosineToUniGrad)} (${neg.min.label}) to ${f3(neg.max.negativeCosineToUniGrad)} (${neg.max.label}).`,
      );
    }
    const explained = grads.filter((e) => e.lambdaR2 !== null);
    if (explained.length) {
      const list = explained.map((e) => `${e.label} ${f2(e.lambdaR2)} (λ ×${f2(e.lambdaRelative)})`).join(', ');
      out.push(`- **How much of each negative part is λ·F·z, ${tag}** (R² of the least-squares fit, and the fitted λ per unit of pull relative to UniGrad's λ = ${ctx.lambda}): ${list}.`);
    }
    const pairs: string[] = [];
    for (const e of ctx.entries) {
      if (e.variant === 'grad') continue;
      const c = pairCosine(ctx, e.id, `${e.method}:grad`);
      if (c !== null) pairs.push(`${e.label} vs its gradient form ${f3(c)}`);
    }
    if (pairs.length) out.push(`- **Original losses vs their own gradient forms, ${tag}:** ${pairs.join('; ')}.`);
  }
  const identical: string[] = [];
  for (const ctx of [mm, nomm]) {
    if (!ctx) continue;
    const ids = ctx.cosine.ids;
    for (let i = 0; i < ids.length; i++) {
      for (let j = i + 1; j < ids.length; j++) {
        const c = ctx.cosine.full[i][j];
        if (c !== null && c > 0.9999) identical.push(`${ctx.entries[i].label} = ${ctx.entries[j].label} (${ctx.target}, ${c.toFixed(4)})`);
      }
    }
  }
  if (identical.length) out.push(`- **Identical gradients** (cosine > 0.9999): ${identical.join('; ')}.`);
  const na = [...new Set(record.contexts.flatMap((c) => c.entries.filter((e) => !e.available).map((e) => `${e.label}: ${(e.unavailable ?? '').replace(/^n\/a: /, '')}`)))];
  if (na.length) out.push(`- **n/a:** ${na.join('; ')}.`);
  return out;
}

function verdict(record: GradCompareRecord): string {
  const ctx = record.contexts.find((c) => c.target === 'mm' && c.available) ?? record.contexts.find((c) => c.available);
  if (!ctx) return 'No context could be measured.';
  const grads = ctx.entries.filter((e) => e.variant === 'grad' && e.id !== REFERENCE_ID && e.available);
  const full = grads.map((e) => e.cosineToUniGrad).filter((v): v is number => v !== null);
  const neg = grads.map((e) => e.negativeCosineToUniGrad).filter((v): v is number => v !== null);
  const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / Math.max(1, v.length);
  const share = grads.map((e) => e.positiveShare).filter((v): v is number => v !== null);
  const parts = [
    `On this checkpoint (${ctx.target}), the gradient forms point in UniGrad's direction on average at cosine ${f3(mean(full))} (min ${f3(Math.min(...full))}), ` +
      `but the pull along the other view's target carries ${f2(Math.min(...share))}–${f2(Math.max(...share))} of each gradient's energy and is shared by construction; ` +
      `the negative parts alone agree with UniGrad's at a mean cosine of ${f3(mean(neg))} (min ${f3(Math.min(...neg))}).`,
  ];
  const strong = grads.filter((e) => (e.negativeCosineToUniGrad ?? -2) >= 0.9);
  const weak = grads.filter((e) => (e.negativeCosineToUniGrad ?? 2) < 0.5);
  if (strong.length) parts.push(`The paper's "−positive + λ·F·z" reading holds closely (negative-part cosine ≥ 0.9) for ${strong.map((e) => e.label).join(', ')}.`);
  if (weak.length) {
    parts.push(
      `It does not hold at this state for ${weak.map((e) => `${e.label} (${f3(e.negativeCosineToUniGrad)})`).join(', ')}: their negative part is not UniGrad's λ·F·z direction, ` +
        `and their full gradients reach cosine ${weak.map((e) => f3(e.cosineToUniGrad)).join(', ')} only because the pull dominates.`,
    );
  }
  const originals = ctx.entries.filter((e) => e.variant !== 'grad' && e.available && e.cosineToUniGrad !== null);
  const o = range(originals, (e) => e.cosineToUniGrad);
  if (o.min && o.max) {
    parts.push(`The original losses, measured as they would train: cosine to UniGrad from ${f3(o.min.cosineToUniGrad)} (${o.min.label}) to ${f3(o.max.cosineToUniGrad)} (${o.max.label}).`);
  }
  return parts.join(' ');
}

/** The generated Markdown section (for RESULTS.md): provenance, the verdict, findings with numbers, and the tables. */
export function markdownSection(records: readonly GradCompareRecord[], options: { command?: string; heading?: string } = {}): string {
  const sorted = [...records].sort((a, b) => a.checkpoint.step - b.checkpoint.step);
  const last = sorted[sorted.length - 1];
  if (!last) return '';
  const ck = last.checkpoint;
  const lines: string[] = [options.heading ?? '## How close is each method\'s gradient to UniGrad\'s? (generated by `npm run grad-compare`)', ''];
  lines.push(
    `Checkpoint: ${ck.method} ${ck.form}${ck.form === 'grad' ? ` ${ck.target}` : ''}, preset ${ck.preset}, ${ck.dataset}, step ${ck.step} (epoch ${ck.epoch}), D = ${ck.embeddingDim}; ` +
      `${last.batches} batch(es) of ${last.batchSize} (${last.data}).`,
  );
  if (options.command) lines.push('', `Command: \`${options.command}\``);
  lines.push('', `**What the numbers say about the equivalence claim.** ${verdict(last)}`, '', ...findings(last), '');
  for (const ctx of last.contexts) {
    lines.push(`### ${CONTEXT_TITLE[ctx.target]}`, '');
    if (!ctx.available) {
      lines.push(ctx.reason ?? 'n/a', '');
      continue;
    }
    lines.push(...contextTable(ctx), '');
  }
  if (sorted.length > 1) {
    lines.push('### Over training', '');
    const first = sorted[0];
    for (const target of ['mm', 'no_mm'] as const) {
      const a = first.contexts.find((c) => c.target === target && c.available);
      const b = last.contexts.find((c) => c.target === target && c.available);
      if (!a || !b) continue;
      const moves = b.entries
        .filter((e) => e.id !== REFERENCE_ID && e.available)
        .map((e) => {
          const before = entry(a, e.id)?.cosineToUniGrad ?? null;
          return before === null ? null : `${e.label} ${f3(before)} → ${f3(e.cosineToUniGrad)}`;
        })
        .filter((s): s is string => s !== null);
      lines.push(`- ${CONTEXT_TITLE[target]}, cosine to UniGrad from epoch ${first.checkpoint.epoch} (step ${first.checkpoint.step}) to epoch ${ck.epoch} (step ${ck.step}): ${moves.join('; ')}.`);
    }
    lines.push('');
  }
  lines.push(
    'How to read it: gradients are compared on the tangent plane of the unit sphere (what the normalisation passes to the network); ' +
      '"negative part" is everything except the component along the other view\'s target; effective λ is the least-squares weight of λ·F·z ' +
      '(F = UniGrad\'s correlation state) in the negative part per unit of pull, relative to UniGrad\'s; R² says how much of the negative part that one term explains. ' +
      'Originals without a target (SimCLR, Barlow Twins, VICReg) and SimSiam pull toward the online other view, so in the mm context their positive part is measured against z_m only approximately. ' +
      'See libs/engine/src/grad-compare/gradients.ts for the exact quantity.',
    '',
  );
  return lines.join('\n');
}
