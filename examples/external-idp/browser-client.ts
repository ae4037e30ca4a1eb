/**
 * The partner's single-page app, as a browser runs it: one page whose script signs Jane in at the
 * partner (same origin as the page) and exchanges the partner's ID token at the router, which is
 * another origin. The router answers it because the client's `allowed_origins` names the page's
 * origin (CORS); a page from any other origin gets no `Access-Control-Allow-Origin` and cannot
 * read the answer.
 */

/** What the page needs to know about the router and its client registration. */
export interface BrowserClientSettings {
  /** The router's token endpoint (another origin than the page's). */
  tokenEndpoint: string;
  clientId: string;
  subjectTokenType: string;
  audience: string;
  scope: string;
}

/** The page's HTML, with the settings inlined as JSON. */
export function browserClientPage(settings: BrowserClientSettings): string {
  const json = JSON.stringify(settings).replace(/</g, '\\u003c');
  return `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Partner SPA: Custom Token Exchange from the browser</title>
</head>
<body>
  <h1>Partner SPA</h1>
  <p>Signs Jane in at the partner, then exchanges the partner ID token at
    <code id="endpoint"></code> (another origin: CORS).</p>
  <button id="exchange">Sign in and exchange</button>
  <pre id="result"></pre>
  <script type="module">
    const settings = ${json};
    document.getElementById('endpoint').textContent = settings.tokenEndpoint;
    const show = (value) => {
      document.getElementById('result').textContent = JSON.stringify(value, null, 2);
    };
    document.getElementById('exchange').addEventListener('click', async () => {
      // The partner's sign-in is served from this page's own origin.
      const signIn = await fetch('/partner/sign-in', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          sub: 'p-1001', email: 'jane@partner.example', email_verified: true, name: 'Jane Doe',
        }),
      });
      const { id_token } = await signIn.json();
      // The exchange goes to the router's origin: the browser lets the page read the answer only
      // because the router sends Access-Control-Allow-Origin for this page's origin.
      const response = await fetch(settings.tokenEndpoint, {
        method: 'POST',
        body: new URLSearchParams({
          grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
          client_id: settings.clientId,
          subject_token_type: settings.subjectTokenType,
          subject_token: id_token,
          audience: settings.audience,
          scope: settings.scope,
        }),
      });
      show({ status: response.status, body: await response.json() });
    });
  </script>
</body>
</html>
`;
}
