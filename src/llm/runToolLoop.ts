import type { Llm, LlmMessage, LlmTool, LlmToolCall } from './Llm.js';

/**
 * A tool-calling conversation turn (`/pipeline ask`, the chat API): stream the model's answer; when
 * it asks for tools, run them, send the results back as `tool` messages, and ask again — at most
 * `maxSteps` times. Every message produced (assistant turns with their tool calls, tool results) is
 * returned so the caller stores them with the history. The handlers decide what a tool may do: a
 * "commit" tool only creates a proposal that still needs `/pipeline approve`. A tool that fails or
 * does not exist answers the model with an error object instead of ending the turn.
 */
export interface ToolHandler {
  tool: LlmTool;
  run(args: Record<string, unknown>, signal?: AbortSignal): Promise<unknown>;
}

export type ToolLoopEvent =
  | { type: 'content'; text: string }
  | { type: 'tool_call'; call: LlmToolCall }
  | { type: 'tool_result'; name: string; result: unknown; error: boolean }
  | { type: 'done'; content: string; steps: number; stoppedEarly: boolean };

export interface ToolLoopOptions {
  messages: LlmMessage[];
  handlers: ToolHandler[];
  /** rounds of tool calls before the turn ends anyway (default 4) */
  maxSteps?: number;
  signal?: AbortSignal;
  /** largest tool result sent back, in characters (default 8000) */
  maxResultChars?: number;
}

function missingArgs(tool: LlmTool, args: Record<string, unknown>): string[] {
  return (tool.parameters.required ?? []).filter((k) => args[k] === undefined || args[k] === null);
}

export async function* runToolLoop(llm: Llm, options: ToolLoopOptions): AsyncGenerator<ToolLoopEvent, LlmMessage[]> {
  const maxSteps = options.maxSteps ?? 4;
  const maxChars = options.maxResultChars ?? 8000;
  const byName = new Map(options.handlers.map((h) => [h.tool.name, h]));
  const tools = options.handlers.map((h) => h.tool);
  const conversation = [...options.messages];
  const produced: LlmMessage[] = [];
  for (let step = 0; ; step++) {
    let content = '';
    const calls: LlmToolCall[] = [];
    const offerTools = step < maxSteps;
    for await (const chunk of llm.chatStream({
      messages: conversation,
      ...(offerTools ? { tools } : {}),
      signal: options.signal,
    })) {
      if (chunk.type === 'content') {
        content += chunk.text;
        yield chunk;
      } else if (chunk.type === 'tool_calls') {
        calls.push(...chunk.toolCalls);
      }
    }
    const assistant: LlmMessage = { role: 'assistant', content, ...(calls.length ? { toolCalls: calls } : {}) };
    conversation.push(assistant);
    produced.push(assistant);
    if (calls.length === 0 || !offerTools) {
      yield { type: 'done', content, steps: step, stoppedEarly: calls.length > 0 };
      return produced;
    }
    for (const call of calls) {
      yield { type: 'tool_call', call };
      const handler = byName.get(call.name);
      let result: unknown;
      let error = false;
      if (!handler) {
        result = { error: `there is no tool named ${call.name}; the tools are ${[...byName.keys()].join(', ')}` };
        error = true;
      } else {
        const missing = missingArgs(handler.tool, call.arguments);
        if (missing.length > 0) {
          result = { error: `missing arguments: ${missing.join(', ')}` };
          error = true;
        } else {
          try {
            result = await handler.run(call.arguments, options.signal);
          } catch (err) {
            result = { error: err instanceof Error ? err.message : String(err) };
            error = true;
          }
        }
      }
      yield { type: 'tool_result', name: call.name, result, error };
      let text = JSON.stringify(result ?? null);
      if (text.length > maxChars) text = `${text.slice(0, maxChars)}… (truncated)`;
      const message: LlmMessage = { role: 'tool', content: text, toolName: call.name };
      conversation.push(message);
      produced.push(message);
    }
  }
}
