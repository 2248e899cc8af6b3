/** What a page is given: the route's path after the page name, its query, and a signal that aborts when the user navigates away. */
export interface Route {
  path: string[];
  params: URLSearchParams;
  signal: AbortSignal;
}
export type Page = (main: HTMLElement, route: Route) => Promise<void> | void;
