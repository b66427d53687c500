// npm growly (the GNTP client inside node-notifier), driven as node-notifier drives it.
// argv[2]: JSON {port, count, icon (a .png path), title, text}. Prints one line per
// outcome; exits when every socket has closed, so a lost callback is never printed.
const growly = require('growly');

const cfg = JSON.parse(process.argv[2]);
growly.setHost('127.0.0.1', cfg.port);
// growly's register() loses its callback when the icon is left out, and takes a Buffer
// icon for the list of types: an icon file it is.
growly.register('Growly Test', cfg.icon, [{ label: 'done', dispname: 'Done' }], (err, resp) => {
  // After an -OK growly hands over an empty response; an -ERROR keeps its headers.
  if (err || resp['Error-Code']) {
    console.log(`register-error ${err ? err.message : resp['Error-Code']}`);
    return;
  }
  console.log('registered');
  for (let i = 0; i < cfg.count; i++) {
    const opts = { title: `${cfg.title} ${i}`, label: 'done', priority: 1, sticky: true };
    growly.notify(cfg.text, opts, (error, action) => {
      console.log(error ? `error ${error.message}` : `callback ${i} ${action}`);
    });
  }
});
