/**
 * The background worker page's only script before `onload`: it loads the real one after.
 *
 * @module
 */
const start = () => import(["/static/build", "background.js"].join("/"));
if (document.readyState === "complete") start();
else addEventListener("load", start, { once: true });
