import Testing

@testable import Switchboard

@Suite("Proxy answers")
struct ProxyAnswerTests {
    @Test("a result is the call's result")
    func result() throws {
        let answer = try JSONValue(parsing: #"{"result": {"sum": 3}}"#)
        #expect(try ProxyAnswer.read(answer, proxy: "rpc").get() == ["sum": 3])
        #expect(try ProxyAnswer.read(try JSONValue(parsing: #"{"result": null}"#), proxy: "rpc").get() == .null)
    }

    @Test("an error keeps the backend's code, message, data and type")
    func backendError() throws {
        let answer = try JSONValue(parsing: #"{"error": {"code": 4001, "message": "Insufficient funds", "data": {"balance": 3}, "type": "ValueError"}}"#)
        guard case .failure(let error) = ProxyAnswer.read(answer, proxy: "rpc") else { Issue.record("no error"); return }
        #expect(error.fromBackend)
        #expect(error.code == 4001)
        #expect(error.message == "Insufficient funds")
        #expect(error.data == ["balance": 3])
        #expect(error.exceptionType == "ValueError")
    }

    @Test("answers of no documented shape say why, as backend unavailable")
    func garbage() throws {
        for text in [#"[1, 2]"#, #"{"neither": 1}"#, #""text""#, #"{"error": 42}"#] {
            guard case .failure(let error) = ProxyAnswer.read(try JSONValue(parsing: text), proxy: "rpc") else {
                Issue.record("\(text) was taken")
                continue
            }
            #expect(!error.fromBackend, "\(text)")
            #expect(error.code == RPCError.Code.internalError)
            #expect(error.message.hasPrefix("Backend unavailable (rpc proxy): "), "\(error.message)")
        }
    }

    @Test("a connect answer grants a user, permissions, channels and data")
    func connectGrant() throws {
        let answer = try JSONValue(parsing: #"{"result": {"user": "alice", "permissions": ["editor"], "channels": ["user:alice"], "data": {"hi": 1}}}"#)
        let grant = try ProxyAnswer.readConnect(answer).get()
        #expect(grant == ProxyAnswer.Grant(user: "alice", permissions: ["editor"], channels: ["user:alice"], data: ["hi": 1]))
        let anonymous = try ProxyAnswer.readConnect(try JSONValue(parsing: #"{"result": {}}"#)).get()
        #expect(anonymous == ProxyAnswer.Grant(user: nil))
    }

    @Test("a connect refusal answers with the backend's status, 403 for a code that is not one, 502 for garbage")
    func connectRefusal() throws {
        func refusal(_ text: String) throws -> ProxyAnswer.ConnectRefusal? {
            if case .failure(let refusal) = ProxyAnswer.readConnect(try JSONValue(parsing: text)) { return refusal }
            return nil
        }
        #expect(try refusal(#"{"error": {"code": 401, "message": "not logged in"}}"#) == .init(status: 401, message: "not logged in"))
        #expect(try refusal(#"{"error": {"code": 7, "message": "no"}}"#) == .init(status: 403, message: "no"))
        #expect(try refusal(#"{"result": {"permissions": "all"}}"#)?.status == 502)
        #expect(try refusal(#"{"result": {"user": 42}}"#)?.status == 502)
        #expect(try refusal(#"{"result": []}"#)?.status == 502)
    }

    @Test("a channel answer allows, or rewrites the data to publish")
    func channel() throws {
        #expect(try ProxyAnswer.readChannel(try JSONValue(parsing: #"{"result": {}}"#), proxy: "publish").get() == nil)
        #expect(try ProxyAnswer.readChannel(try JSONValue(parsing: #"{"result": {"data": {"x": 2}}}"#), proxy: "publish").get() == ["x": 2])
        guard case .failure(let error) = ProxyAnswer.readChannel(try JSONValue(parsing: #"{"error": {"code": 403, "message": "not yours"}}"#), proxy: "subscribe") else {
            Issue.record("no refusal")
            return
        }
        #expect(error.fromBackend && error.code == 403 && error.message == "not yours")
        if case .success = ProxyAnswer.readChannel(try JSONValue(parsing: #"{"result": 5}"#), proxy: "publish") { Issue.record("5 was taken") }
    }

    @Test("the request bodies have the documented members")
    func bodies() {
        let caller = ProxyCaller(socket: "n1.7", user: "alice", claims: ["sub": "alice"], protocolName: "jsonrpc", headers: [])
        let call = ProxyCallRequest(method: "add", params: [1, 2], caller: caller)
        #expect(call.body == ["method": "add", "params": [1, 2], "socket": "n1.7", "user": "alice", "claims": ["sub": "alice"], "protocol": "jsonrpc"])
        let anonymous = ProxyCaller(socket: "n1.8", user: nil, claims: nil, protocolName: "stream", headers: [])
        let publish = ProxyChannelRequest(action: .publish, channel: "news", data: ["a": 1], caller: anonymous)
        #expect(publish.body == ["channel": "news", "socket": "n1.8", "user": nil, "claims": nil, "protocol": "stream", "data": ["a": 1]])
        let subscribe = ProxyChannelRequest(action: .subscribe, channel: "news", caller: anonymous)
        #expect(subscribe.body["data"] == nil)
    }
}
