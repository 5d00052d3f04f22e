// The official socket.io-client, as the front ends use it: connect with a token, send a
// message with an ack, receive it back as message:new. Prints one JSON line with what it saw.
import { io } from "socket.io-client";

const [url, token, roomId] = process.argv.slice(2);
const result = { connected: false, ack: null, received: null, refused: null };
const done = (code) => {
  console.log(JSON.stringify(result));
  process.exit(code);
};
setTimeout(() => done(2), 10000);

const refused = io(url, { auth: { token: "not-a-token" }, transports: ["websocket"], reconnection: false });
refused.on("connect_error", (err) => {
  result.refused = err.message;
  refused.close();
  const socket = io(url, { auth: { token }, transports: ["websocket"], reconnection: false });
  socket.on("connect_error", (e) => { result.connect_error = e.message; done(1); });
  const finishWhenBoth = () => {
    if (result.ack && result.received) {
      socket.close();
      done(0);
    }
  };
  socket.on("message:new", (message) => {
    if (message.client_id === "js-1") {
      result.received = message;
      finishWhenBoth();
    }
  });
  socket.on("connect", () => {
    result.connected = true;
    socket.emit("message:send", { room_id: roomId, body: "hello from socket.io-client", client_id: "js-1" }, (ack) => {
      result.ack = ack;
      finishWhenBoth();
    });
  });
});
