// npm growler 0.0.1, driven through its own API. argv[2]: JSON {port, password, hash,
// encryption, icon (hex), title, text}. Prints "register <ok> [code]" and "notify <ok> [code]".
const crypto = require('crypto');

// growler was written for node 0.6, which read a "binary" string IV as latin1 bytes;
// node 20 reads it as UTF-8 and refuses the IV. Restore the old reading, nothing else.
const createCipheriv = crypto.createCipheriv;
crypto.createCipheriv = (algorithm, key, iv, options) =>
  createCipheriv(algorithm, key, typeof iv === 'string' ? Buffer.from(iv, 'latin1') : iv, options);

const { GrowlApplication } = require('growler');

const cfg = JSON.parse(process.argv[2]);
const icon = Buffer.from(cfg.icon, 'hex');
const security = cfg.password == null ? {} : {
  password: cfg.password, hashAlgorithm: cfg.hash, encryptionAlgorithm: cfg.encryption,
};
const app = new GrowlApplication('Growler Test', { hostname: '127.0.0.1', port: cfg.port, icon }, security);
app.setNotifications({ done: { displayName: 'Done' } });

const outcome = (what, ok, err) => console.log(`${what} ${ok}${err ? ` ${err.errorCode}` : ''}`);
app.register((ok, err) => {
  outcome('register', ok, err);
  if (!ok) return;
  app.sendNotification('done', { title: cfg.title, text: cfg.text, icon }, (ok2, err2) => {
    outcome('notify', ok2, err2);
  });
});
