// Loaded after every feature module of the page: they have registered their frame handlers and
// their "on open" steps (a conversation join) by now, so nothing the socket says is missed.
import { socket } from "./core.js";

socket.connect();
