// The page's state, shared by its modules: what is loaded and shown, and the
// worker session (the client, and a generation that makes stale results
// easy to drop).

export const state = {
  source: null, // { name, kind, tensors: [{ name, dtype, shape, count, bytes }] }
  selected: null,
  axes: {}, // tensor name → axis (number) or null
  view: 'worst', // 'worst' | 'all' | channel number (per-channel only)
  analysis: null,
  compare: null,
  overview: null,
  channelSort: { key: 'sqnrDb', dir: 1 },
  overviewSort: { key: null, dir: 1 },
  showAllChannels: false,
  rendered: { compare: null, overview: null },
};

export const session = { client: null, generation: 0 };
