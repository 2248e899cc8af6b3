import { Controller, Get, Header, NotFoundException, Param, Res } from '@nestjs/common';
import { ApiExcludeController } from '@nestjs/swagger';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { CONSOLE_CSS, CONSOLE_HTML } from './page';

/** The part of Express's response the console uses. */
interface Response {
  set(headers: Record<string, string>): { send(body: Buffer): void };
}

const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/**
 * The audit console, served by the API itself at /console: the page and its style from this
 * module, its scripts from `dist/apps/ledger-console` (compiled from apps/ledger-console by `npm run build`,
 * which `npm ci` runs). Nothing is fetched from elsewhere: the Content-Security-Policy allows this
 * origin only. The page needs no key; every API call it makes sends the key the user signs in with.
 */
@ApiExcludeController()
@Controller('console')
export class ConsoleController {
  private readonly scripts = consoleScriptsDir();

  @Get()
  @Header('content-type', 'text/html; charset=utf-8')
  @Header('content-security-policy', CSP)
  @Header('cache-control', 'no-cache')
  page(): string {
    return CONSOLE_HTML;
  }

  @Get('app.css')
  @Header('content-type', 'text/css; charset=utf-8')
  @Header('cache-control', 'no-cache')
  css(): string {
    return CONSOLE_CSS;
  }

  @Get('js/:dir/:file')
  script(@Param('dir') dir: string, @Param('file') file: string, @Res() res: Response): void {
    // Only the compiled modules' own names: no path from the request reaches the file system.
    if (!/^(ui|view)$/.test(dir) || !/^[a-z][a-z0-9-]*\.js$/.test(file)) throw new NotFoundException('no such console script');
    this.send(path.join(this.scripts, dir, file), res);
  }

  @Get('js/ui/pages/:file')
  pageScript(@Param('file') file: string, @Res() res: Response): void {
    if (!/^[a-z][a-z0-9-]*\.js$/.test(file)) throw new NotFoundException('no such console script');
    this.send(path.join(this.scripts, 'ui', 'pages', file), res);
  }

  private send(file: string, res: Response): void {
    let body: Buffer;
    try {
      body = fs.readFileSync(file);
    } catch {
      throw new NotFoundException(`console script not found: is the console built? (npm run build writes ${path.relative(process.cwd(), this.scripts) || '.'})`);
    }
    res.set({ 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff' }).send(body);
  }
}

/** `dist/apps/ledger-console` of the project: the nearest folder above this file holding package.json. */
export function consoleScriptsDir(from = __dirname): string {
  let dir = from;
  while (!fs.existsSync(path.join(dir, 'package.json'))) {
    const up = path.dirname(dir);
    if (up === dir) return path.resolve('dist', 'apps', 'ledger-console');
    dir = up;
  }
  return path.join(dir, 'dist', 'apps', 'ledger-console');
}
