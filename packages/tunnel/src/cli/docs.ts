import { configSchema, defaultText, expectedText } from './schema.js'

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ')
}

/** The config keys as a Markdown table (key, flag, env var, type, default, description). */
export function configMarkdown(): string {
  const rows = [
    '| Key | Flag | Environment variable | Expects | Default | Description |',
    '| --- | --- | --- | --- | --- | --- |',
  ]
  for (const entry of configSchema) {
    rows.push(
      `| \`${entry.key}\` | \`${entry.flag}\` | \`${entry.env}\` | ${cell(expectedText(entry))} | ${cell(defaultText(entry))} | ${cell(entry.description)} |`,
    )
  }
  return rows.join('\n') + '\n'
}
