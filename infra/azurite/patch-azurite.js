// Azurite 3.37 decodes a request body one socket chunk at a time (readRequestIntoText in each service's generated
// serializer joins the Buffers as strings) and a queue message body read back likewise (readStreamToString), so a
// multi-byte UTF-8 character that straddles two chunks is stored as U+FFFD. Azure Storage decodes the whole body;
// this makes the emulator do the same. Run by npm after install; it stops the install if Azurite's code has moved.
const fs = require("fs");
const path = require("path");
const dist = path.join(__dirname, "node_modules", "azurite", "dist", "src");

function patch(file, from, to) {
  const text = fs.readFileSync(file, "utf8");
  if (text.includes(to)) return;
  if (!text.includes(from)) throw new Error(`Azurite changed; recheck the UTF-8 patch of ${file}`);
  fs.writeFileSync(file, text.replace(from, to));
}

for (const service of ["queue", "table", "blob"])
  patch(path.join(dist, service, "generated", "utils", "serializer.js"), 'const joined = segments.join("");', "const joined = Buffer.concat(segments).toString();");

patch(path.join(dist, "queue", "utils", "utils.js"),
  'let res = "";\n        data\n            .on("readable", () => {\n            let chunk;\n            chunk = data.read();\n            if (chunk) {\n                res += chunk.toString();\n            }\n        })\n            .on("end", () => {\n            resolve(res);\n        })',
  'const chunks = [];\n        data\n            .on("readable", () => {\n            let chunk;\n            chunk = data.read();\n            if (chunk) {\n                chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));\n            }\n        })\n            .on("end", () => {\n            resolve(Buffer.concat(chunks).toString());\n        })');
