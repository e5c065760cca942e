// Labels in Chinese and English; the choice is kept in the browser.
const labels = {
  zh: {
    journeys: '旅程', campaigns: '营销活动', audience: '人群', delivery: '触达', consent: '授权', reports: '分析报告',
    signIn: '登录', signOut: '退出', apiKey: 'API 密钥', keyHint: '输入本租户的营销或管理员密钥，仅保存在本次浏览器会话中。',
    name: '名称', status: '状态', version: '版本', updated: '更新时间', entered: '进入', current: '当前', completed: '完成', exited: '退出',
    converted: '转化', conversion: '转化率', interval: '95% 置信区间', vsControl: '相对对照组', branch: '分支', assigned: '分配', control: '对照组',
    daily: '每日', day: '日期', node: '节点', left: '离开', graph: '旅程图', splits: 'A/B 分流',
    targeted: '目标人数', sent: '已发送', delivered: '已送达', failed: '失败', suppressed: '已拦截', pending: '待处理', holdout: '对照组留存',
    cancelled: '已取消', cancel: '取消活动', cancelConfirm: '确定取消这个活动吗？', progress: '进度', perMinute: '每分钟', reason: '原因',
    people: '人数', share: '占比', segments: '分群', rfm: 'RFM 八类客户', lifecycle: '生命周期', refresh: '刷新快照', asOf: '数据时间',
    noSnapshot: '还没有人群快照。', channel: '渠道', granted: '已授权', withdrawn: '已撤回', consentRate: '授权率', withdrawals: '每日撤回',
    funnel: '漏斗分析', cohort: '留存分析（按首次出现周）', steps: '步骤（逗号分隔）', windowDays: '窗口（天）', weeks: '周数', run: '运行',
    running: '运行中', week: '周', fromPrevious: '上一步转化', fromFirst: '整体转化', source: '数据来源', none: '暂无数据', total: '合计',
    counters: '实时计数', deferred: '延后发送', step: '步骤', analysisJob: '分析任务', forbidden: '此密钥没有权限查看。',
  },
  en: {
    journeys: 'Journeys', campaigns: 'Campaigns', audience: 'Audience', delivery: 'Delivery', consent: 'Consent', reports: 'Reports',
    signIn: 'Sign in', signOut: 'Sign out', apiKey: 'API key', keyHint: "A marketer or admin key of your tenant; kept in this browser session only.",
    name: 'Name', status: 'Status', version: 'Version', updated: 'Updated', entered: 'Entered', current: 'There now', completed: 'Completed', exited: 'Exited',
    converted: 'Converted', conversion: 'Conversion', interval: '95% interval', vsControl: 'vs control', branch: 'Branch', assigned: 'Assigned', control: 'Control',
    daily: 'Per day', day: 'Day', node: 'Node', left: 'Left', graph: 'Journey graph', splits: 'A/B splits',
    targeted: 'Targeted', sent: 'Sent', delivered: 'Delivered', failed: 'Failed', suppressed: 'Suppressed', pending: 'Pending', holdout: 'Held out',
    cancelled: 'Cancelled', cancel: 'Cancel campaign', cancelConfirm: 'Cancel this campaign?', progress: 'Progress', perMinute: 'Per minute', reason: 'Reason',
    people: 'People', share: 'Share', segments: 'Segments', rfm: 'RFM tiers', lifecycle: 'Lifecycle', refresh: 'Refresh snapshot', asOf: 'As of',
    noSnapshot: 'No audience snapshot yet.', channel: 'Channel', granted: 'Granted', withdrawn: 'Withdrawn', consentRate: 'Consent rate', withdrawals: 'Withdrawals per day',
    funnel: 'Funnel', cohort: 'Cohorts (by first-seen week)', steps: 'Steps (comma separated)', windowDays: 'Window (days)', weeks: 'Weeks', run: 'Run',
    running: 'Running', week: 'Week', fromPrevious: 'From previous', fromFirst: 'From first', source: 'Source', none: 'Nothing yet', total: 'Total',
    counters: 'live counters', deferred: 'Held for later', step: 'Step', analysisJob: 'analysis job', forbidden: 'This key may not see this.',
  },
};

export function lang() { return localStorage.getItem('siyu.lang') === 'en' ? 'en' : 'zh'; }
export function setLang(l) { localStorage.setItem('siyu.lang', l); document.documentElement.lang = l === 'en' ? 'en' : 'zh-CN'; }
export function t(key) { return labels[lang()][key] ?? key; }
