// The Node function of the false-positive test: express, a backend through the built-in
// fetch (undici: pooled keep-alive connections).
const express = require("express");

const app = express();
app.get("/", (req, res) => res.type("text/plain").send("hello from node\n"));
app.post("/echo", express.raw({ type: "*/*", limit: "16mb" }), (req, res) =>
  res.type("text/plain").send(`${req.body ? req.body.length : 0} bytes\n`));
app.get("/backend", async (req, res) => {
  try {
    const r = await fetch(`http://${process.env.BACKEND}/`);
    res.type("text/plain").send(await r.text());
  } catch (e) {
    res.status(502).type("text/plain").send(`backend: ${e.message} ${e.cause || ""}\n`);
  }
});
app.use((req, res) => res.status(404).type("text/plain").send("not found\n"));
app.listen(Number(process.env.PORT), "127.0.0.1");
