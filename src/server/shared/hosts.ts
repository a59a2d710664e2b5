// The loopback check lives in core/, below every room: config's start-up checks use it too.
export { isLoopbackHost } from '../../core/hosts.ts';
